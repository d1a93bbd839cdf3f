// The handover for whoever takes the patient on (an ambulance crew, the emergency department):
// the core writes it under UK Core record-standard headings; here it is shown to read aloud, and
// printed on its own. The same handover is saved as a FHIR document file for the receiving system,
// named by time and a random id, never by the patient.
import { useState } from "react";
import { api, type CommandError } from "../api";

export function HandoverDialog({
  patient,
  onClose,
  onError,
}: {
  patient: string;
  onClose: () => void;
  onError: (error: unknown) => CommandError;
}) {
  const [to, setTo] = useState("");
  const [text, setText] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);

  const save = async () => {
    setBusy(true);
    try {
      setSaved((await api.saveHandover(patient, to.trim() || null)).path);
    } catch (failure) {
      onError(failure);
    } finally {
      setBusy(false);
    }
  };

  const prepare = async () => {
    setBusy(true);
    try {
      const handover = await api.handover(patient, to.trim() || null);
      setText(handover.text);
    } catch (failure) {
      onError(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="dialog-backdrop">
      <div
        className="dialog handover"
        role="dialog"
        aria-modal="true"
        aria-labelledby="handover-title"
        data-testid="handover-dialog"
        onKeyDown={(event) => {
          if (event.key === "Escape") onClose();
        }}
      >
        <h2 id="handover-title">Handover</h2>
        {text === null ? (
          <form
            onSubmit={(event) => {
              event.preventDefault();
              void prepare();
            }}
          >
            <label htmlFor="handover-to">Handing over to (optional)</label>
            <input
              id="handover-to"
              value={to}
              onChange={(event) => setTo(event.target.value)}
              placeholder="e.g. ambulance crew, ED majors"
              autoFocus
            />
            <p className="hint">Making a handover is recorded in the audit as an export, with who it is for.</p>
            <div className="actions">
              <button type="button" onClick={onClose}>
                Cancel
              </button>
              <button type="submit" className="primary" disabled={busy} data-testid="handover-prepare">
                {busy ? "Preparing…" : "Prepare handover"}
              </button>
            </div>
          </form>
        ) : (
          <>
            <pre className="handover-text handover-print" data-testid="handover-text" tabIndex={0}>
              {text}
            </pre>
            {saved && (
              <p className="hint" role="status" data-testid="handover-saved">
                FHIR document saved: {saved}
              </p>
            )}
            <div className="actions">
              <button onClick={onClose}>Close</button>
              <button onClick={() => void save()} disabled={busy} data-testid="handover-save">
                {busy ? "Saving…" : "Save FHIR file"}
              </button>
              <button className="primary" onClick={() => window.print()}>
                Print
              </button>
            </div>
          </>
        )}
      </div>
    </div>
  );
}
