// The observation form: which fields, how they are typed, and how typed text becomes a set for
// the core. Only the typing is checked here (is it a number?); ranges and scores come from the
// core as values are entered.
import type { Vitals } from "../api";

export type NumericField = "respiration_rate" | "spo2" | "systolic_bp" | "pulse" | "temperature";

/** Observations recorded beside NEWS2, never scored: typed as numbers. */
export type AdditionalNumeric =
  | "diastolic_bp"
  | "blood_glucose"
  | "pain_score"
  | "oxygen_flow"
  | "gcs_eye"
  | "gcs_verbal"
  | "gcs_motor"
  | "fetal_heart_rate";

export type FieldSpec<K extends string = NumericField> = {
  key: K;
  label: string;
  unit: string;
  decimals: boolean;
  /** Shown only while the record says the patient is pregnant. */
  pregnancy?: boolean;
  /** Takes a letter as well as a number (HI/LO, C, T): a keyboard with letters. */
  letters?: boolean;
};

/** In the order of the paper chart. */
export const NUMERIC_FIELDS: FieldSpec[] = [
  { key: "respiration_rate", label: "Respiration rate", unit: "breaths/min", decimals: false },
  { key: "spo2", label: "SpO₂", unit: "%", decimals: false },
  { key: "systolic_bp", label: "Systolic BP", unit: "mmHg", decimals: false },
  { key: "pulse", label: "Pulse", unit: "beats/min", decimals: false },
  { key: "temperature", label: "Temperature", unit: "°C", decimals: true },
];

/** The additional observations' numbers, in the order a crew's handover reads them. */
export const ADDITIONAL_FIELDS: FieldSpec<AdditionalNumeric>[] = [
  { key: "diastolic_bp", label: "Diastolic BP", unit: "mmHg", decimals: false },
  { key: "blood_glucose", label: "Blood glucose", unit: "mmol/L, or HI / LO as the meter shows", decimals: true, letters: true },
  { key: "pain_score", label: "Pain score", unit: "0–10", decimals: false },
  { key: "oxygen_flow", label: "Oxygen flow", unit: "L/min", decimals: true },
  { key: "gcs_eye", label: "GCS eye", unit: "1–4, or C: eyes closed by swelling", decimals: false, letters: true },
  { key: "gcs_verbal", label: "GCS verbal", unit: "1–5, or T: intubated or tracheostomy", decimals: false, letters: true },
  { key: "gcs_motor", label: "GCS motor", unit: "1–6", decimals: false },
  { key: "fetal_heart_rate", label: "Fetal heart rate", unit: "beats/min", decimals: false, pregnancy: true },
];

/** How oxygen is given: the core's keys and how they read. */
export const OXYGEN_DEVICES = [
  { key: "nasal-cannula", word: "Nasal cannula" },
  { key: "simple-mask", word: "Simple face mask" },
  { key: "venturi-mask", word: "Venturi mask" },
  { key: "reservoir-mask", word: "Reservoir (non-rebreather) mask" },
  { key: "high-flow-nasal", word: "High-flow nasal oxygen" },
  { key: "tracheostomy-mask", word: "Tracheostomy mask" },
  { key: "cpap-or-niv", word: "CPAP or NIV" },
] as const;

export const URINE_PROTEIN = ["negative", "trace", "+", "++", "+++", "++++"] as const;

export const ACVPU = [
  { letter: "A", word: "Alert" },
  { letter: "C", word: "New confusion" },
  { letter: "V", word: "Voice" },
  { letter: "P", word: "Pain" },
  { letter: "U", word: "Unresponsive" },
] as const;

export type Form = {
  text: Partial<Record<NumericField | AdditionalNumeric | "oxygen_device" | "urine_protein", string>>;
  onOxygen: boolean | null;
  consciousness: string | null;
};

export const EMPTY_FORM: Form = { text: {}, onOxygen: null, consciousness: null };

export type Parsed = { vitals: Vitals; errors: Partial<Record<NumericField | AdditionalNumeric, string>> };

/** Typed text to a set; text that is not a number is named, and left out of the set. The
 *  additional observations' choices (oxygen device, urine protein) are kept in the form's text
 *  under their keys, so a draft carries them too. */
export function parseForm(form: Form, shown: { pregnancy: boolean } = { pregnancy: true }): Parsed {
  const vitals: Vitals = {};
  const errors: Parsed["errors"] = {};
  // A field the form does not show (the fetal heart outside a pregnancy) is never sent, even if a
  // draft holds a value for it.
  const specs: FieldSpec<NumericField | AdditionalNumeric>[] = [
    ...NUMERIC_FIELDS,
    ...ADDITIONAL_FIELDS.filter((spec) => shown.pregnancy || !spec.pregnancy),
  ];
  for (const spec of specs) {
    const raw = (form.text[spec.key] ?? "").trim();
    if (raw === "") continue;
    // A meter's HI or LO is a reading of its own, not a number; so is a GCS response that could
    // not be tested (C, T). The core decides what each means.
    const letters: Partial<Record<string, RegExp>> = {
      blood_glucose: /^(hi|lo)$/i,
      gcs_eye: /^c$/i,
      gcs_verbal: /^t$/i,
    };
    if (letters[spec.key]?.test(raw)) {
      (vitals as Record<string, unknown>)[spec.key] = raw.toUpperCase();
      continue;
    }
    const pattern = spec.decimals ? /^\d{1,3}([.,]\d)?$/ : /^\d{1,3}$/;
    if (!pattern.test(raw)) {
      errors[spec.key] = spec.decimals
        ? `${spec.label}: enter a number such as ${spec.key === "temperature" ? "37.2" : "4.5"}`
        : `${spec.label}: enter a whole number`;
      continue;
    }
    vitals[spec.key] = Number(raw.replace(",", "."));
  }
  const device = form.text.oxygen_device;
  if (device) vitals.oxygen_device = device;
  const protein = form.text.urine_protein;
  if (protein) vitals.urine_protein = protein;
  if (form.onOxygen !== null) vitals.on_oxygen = form.onOxygen;
  if (form.consciousness !== null) vitals.consciousness = form.consciousness;
  return { vitals, errors };
}

/** Every key of the observations beside NEWS2 on the form: the numbers and the two choices. */
export const ADDITIONAL_KEYS: (AdditionalNumeric | "oxygen_device" | "urine_protein")[] = [
  ...ADDITIONAL_FIELDS.map((spec) => spec.key),
  "oxygen_device",
  "urine_protein",
];

/** Whether any observation beside NEWS2 has been entered (the section then opens by itself). */
export function hasAdditional(form: Form): boolean {
  return ADDITIONAL_KEYS.some((key) => (form.text[key] ?? "") !== "");
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
