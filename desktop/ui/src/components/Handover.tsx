// The handover for whoever takes the patient on (an ambulance crew, the emergency department):
// the core writes it under UK Core record-standard headings; here it is shown to read aloud, and
// printed on its own. A crew at the door hands over in ATMIST order instead: the core fills each
// heading from the record, the crew adds what only they know (treatment, ETA, what to have ready). The same handover is saved as a FHIR document file for the receiving system,
// named by time and a random id, never by the patient.
import { useState } from "react";
import { api, type Atmist, type CommandError } from "../api";
import { Choices } from "./Choices";

type Kind = "full" | "atmist";

export function HandoverDialog({
  patient,
  atTheDoor = false,
  onClose,
  onError,
}: {
  patient: string;
  /** Offer ATMIST first (an incident record: a crew's patient). */
  atTheDoor?: boolean;
  onClose: () => void;
  onError: (error: unknown) => CommandError;
}) {
  const [to, setTo] = useState("");
  const [kind, setKind] = useState<Kind>(atTheDoor ? "atmist" : "full");
  const [injuries, setInjuries] = useState("");
  const [treatment, setTreatment] = useState("");
  const [eta, setEta] = useState("");
  const [requirements, setRequirements] = useState("");
  const [atmist, setAtmist] = useState<Atmist | null>(null);
  const [text, setText] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const [noted, setNoted] = useState(false);

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
      const given = (value: string) => value.trim() || null;
      const handover = await api.handover(patient, to.trim() || null, {
        injuries: given(injuries),
        treatment: given(treatment),
        eta: given(eta),
        requirements: given(requirements),
      });
      setText(kind === "atmist" ? handover.atmist_text : handover.text);
      setAtmist(kind === "atmist" ? handover.atmist : null);
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
            <Choices
              label="Kind of handover"
              options={[
                { value: "full" as Kind, label: "Full handover" },
                { value: "atmist" as Kind, label: "At the door (ATMIST)" },
              ]}
              value={kind}
              onChoose={setKind}
              testid="handover-kind"
            />
            {kind === "atmist" && (
              <>
                <label htmlFor="atmist-injuries">Injuries or illness (optional: else the latest note)</label>
                <input id="atmist-injuries" value={injuries} onChange={(event) => setInjuries(event.target.value)} />
                <label htmlFor="atmist-treatment">Treatment so far (oxygen and calls made are added)</label>
                <input
                  id="atmist-treatment"
                  data-testid="atmist-treatment"
                  value={treatment}
                  onChange={(event) => setTreatment(event.target.value)}
                />
                <label htmlFor="atmist-eta">ETA</label>
                <input id="atmist-eta" data-testid="atmist-eta" value={eta} onChange={(event) => setEta(event.target.value)} />
                <label htmlFor="atmist-requirements">Requirements on arrival</label>
                <input
                  id="atmist-requirements"
                  value={requirements}
                  onChange={(event) => setRequirements(event.target.value)}
                />
              </>
            )}
            <label htmlFor="handover-to">Handing over to (optional)</label>
            <input
              id="handover-to"
              value={to}
              onChange={(event) => setTo(event.target.value)}
              placeholder="e.g. ambulance crew, ED majors"
              autoFocus={kind === "full"}
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
            {atmist ? (
              <div className="handover-print" data-testid="atmist" tabIndex={0}>
                <dl className="atmist">
                  {atmist.lines.map((line, index) => (
                    <div key={index} className="atmist-line" data-testid="atmist-line">
                      <dt>
                        <span className="atmist-letter">{line.letter}</span> {line.heading}
                      </dt>
                      <dd>{line.text}</dd>
                    </div>
                  ))}
                </dl>
                <p className="hint" data-testid="atmist-length">
                  {atmist.words} words: about {atmist.seconds_aloud} seconds to read aloud.
                </p>
                {noted && (
                  <p className="hint" role="status" data-testid="atmist-noted">
                    Added to the record as a note, with your name and the time.
                  </p>
                )}
              </div>
            ) : (
              <pre className="handover-text handover-print" data-testid="handover-text" tabIndex={0}>
                {text}
              </pre>
            )}
            {saved && (
              <p className="hint" role="status" data-testid="handover-saved">
                FHIR document saved: {saved}
              </p>
            )}
            <div className="actions">
              <button onClick={onClose}>Close</button>
              {atmist && text && !noted && (
                <button
                  data-testid="atmist-note"
                  disabled={busy}
                  onClick={() =>
                    void api
                      .addNote(patient, `Handover at the door (ATMIST):\n${text}`)
                      .then(() => setNoted(true))
                      .catch(onError)
                  }
                >
                  Add to the record as a note
                </button>
              )}
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
