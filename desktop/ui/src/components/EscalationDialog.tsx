// Recording an escalation: which service was called, when, what they said, their reference and
// the SBAR handed over. Offered straight after a set whose response asks for a call, and from the
// record at any time. The core checks the time and the outcome; this only collects them.
import { useState } from "react";
import { api, type CommandError, type EscalationService } from "../api";
import { fromUkInput } from "../logic/format";

export const SERVICES: { key: EscalationService; label: string }[] = [
  { key: "999", label: "999" },
  { key: "111", label: "NHS 111" },
  { key: "gp", label: "GP" },
  { key: "ucr", label: "Urgent community response" },
  { key: "spa", label: "Single point of access" },
  { key: "maternity-triage", label: "Maternity triage" },
  { key: "other", label: "Other" },
];

export function serviceLabel(key: EscalationService): string {
  return SERVICES.find((service) => service.key === key)?.label ?? key;
}

export function EscalationDialog({
  patient,
  observation,
  suggested,
  onDone,
  onCancel,
  onError,
}: {
  patient: string;
  observation: string | null;
  /** The service the response names first, preselected. */
  suggested: EscalationService | null;
  onDone: (message: string) => void;
  onCancel: () => void;
  onError: (error: unknown) => CommandError;
}) {
  const [service, setService] = useState<EscalationService | null>(suggested);
  const [at, setAt] = useState("");
  const [outcome, setOutcome] = useState("");
  const [reference, setReference] = useState("");
  const [sbar, setSbar] = useState("");
  const [saving, setSaving] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);

  const submit = async () => {
    if (!service) return;
    const when = at ? fromUkInput(at) : null;
    if (when && "error" in when) {
      setFailure(when.error);
      return;
    }
    setSaving(true);
    setFailure(null);
    try {
      await api.escalate(patient, { service, at: when?.iso ?? null, outcome, reference, sbar, observation });
      onDone(`Escalation to ${serviceLabel(service)} recorded; it syncs to the team with the record.`);
    } catch (error) {
      setFailure(onError(error).message);
    } finally {
      setSaving(false);
    }
  };

  return (
    <div className="dialog-backdrop">
      <form
        className="dialog escalation"
        role="dialog"
        aria-modal="true"
        aria-labelledby="escalation-title"
        onKeyDown={(event) => {
          if (event.key === "Escape") onCancel();
        }}
        data-testid="escalation-dialog"
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        <h2 id="escalation-title">Record escalation</h2>
        <span className="label" id="service-label">
          Who did you call?
        </span>
        <div className="segmented services" role="radiogroup" aria-labelledby="service-label">
          {SERVICES.map((option) => (
            <button
              key={option.key}
              type="button"
              role="radio"
              data-testid={`service-${option.key}`}
              aria-checked={service === option.key}
              className={service === option.key ? "chosen" : ""}
              onClick={() => setService(option.key)}
            >
              {option.label}
            </button>
          ))}
        </div>
        <label htmlFor="escalation-at">When, UK time (leave empty for now)</label>
        <input id="escalation-at" type="datetime-local" value={at} onChange={(event) => setAt(event.target.value)} />
        <label htmlFor="escalation-outcome">What they said or will do (required)</label>
        <input
          id="escalation-outcome"
          data-testid="escalation-outcome"
          value={outcome}
          onChange={(event) => setOutcome(event.target.value)}
          required
        />
        <label htmlFor="escalation-reference">Their reference</label>
        <input id="escalation-reference" data-testid="escalation-reference" value={reference} onChange={(event) => setReference(event.target.value)} />
        <label htmlFor="escalation-sbar">SBAR: situation, background, assessment, recommendation</label>
        <textarea id="escalation-sbar" rows={3} value={sbar} onChange={(event) => setSbar(event.target.value)} />
        {failure && (
          <p className="error" role="alert">
            {failure}
          </p>
        )}
        <div className="actions">
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={saving || !service || !outcome.trim()} data-testid="save-escalation">
            {saving ? "Saving…" : "Save escalation"}
          </button>
        </div>
      </form>
    </div>
  );
}
