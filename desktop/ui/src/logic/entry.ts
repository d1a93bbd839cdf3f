// The observation form: which fields, how they are typed, and how typed text becomes a set for
// the core. Only the typing is checked here (is it a number?); ranges and scores come from the
// core as values are entered.
import type { Vitals } from "../api";

export type NumericField = "respiration_rate" | "spo2" | "systolic_bp" | "pulse" | "temperature";

export type FieldSpec = {
  key: NumericField;
  label: string;
  unit: string;
  decimals: boolean;
};

/** In the order of the paper chart. */
export const NUMERIC_FIELDS: FieldSpec[] = [
  { key: "respiration_rate", label: "Respiration rate", unit: "breaths/min", decimals: false },
  { key: "spo2", label: "SpO₂", unit: "%", decimals: false },
  { key: "systolic_bp", label: "Systolic BP", unit: "mmHg", decimals: false },
  { key: "pulse", label: "Pulse", unit: "beats/min", decimals: false },
  { key: "temperature", label: "Temperature", unit: "°C", decimals: true },
];

export const ACVPU = [
  { letter: "A", word: "Alert" },
  { letter: "C", word: "New confusion" },
  { letter: "V", word: "Voice" },
  { letter: "P", word: "Pain" },
  { letter: "U", word: "Unresponsive" },
] as const;

export type Form = {
  text: Partial<Record<NumericField, string>>;
  onOxygen: boolean | null;
  consciousness: string | null;
};

export const EMPTY_FORM: Form = { text: {}, onOxygen: null, consciousness: null };

export type Parsed = { vitals: Vitals; errors: Partial<Record<NumericField, string>> };

/** Typed text to a set; text that is not a number is named, and left out of the set. */
export function parseForm(form: Form): Parsed {
  const vitals: Vitals = {};
  const errors: Parsed["errors"] = {};
  for (const spec of NUMERIC_FIELDS) {
    const raw = (form.text[spec.key] ?? "").trim();
    if (raw === "") continue;
    const pattern = spec.decimals ? /^\d{1,3}([.,]\d)?$/ : /^\d{1,3}$/;
    if (!pattern.test(raw)) {
      errors[spec.key] = spec.decimals
        ? `${spec.label}: enter a number such as 37.2`
        : `${spec.label}: enter a whole number`;
      continue;
    }
    vitals[spec.key] = Number(raw.replace(",", "."));
  }
  if (form.onOxygen !== null) vitals.on_oxygen = form.onOxygen;
  if (form.consciousness !== null) vitals.consciousness = form.consciousness;
  return { vitals, errors };
}

/** How many of the seven NEWS2 parameters have a value. */
export function enteredCount(vitals: Vitals): number {
  const keys: (keyof Vitals)[] = [
    "respiration_rate",
    "spo2",
    "on_oxygen",
    "systolic_bp",
    "pulse",
    "consciousness",
    "temperature",
  ];
  return keys.filter((key) => vitals[key] !== undefined).length;
}
