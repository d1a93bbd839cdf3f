// Identifying an incident's patient with their NHS number. Nothing changes until the clinician has
// seen whose record the number belongs to on this device and confirmed it is this patient: linking
// a stranger's scene observations to the wrong person's history is the hazard (H40).
import { useState } from "react";
import { api, type CommandError, type IdentifyMatch } from "../api";
import { longDate, nhsNumber } from "../logic/format";

export function IdentifyPatient({
  incident,
  reference,
  onIdentified,
  onCancel,
  onError,
}: {
  incident: string;
  reference: string;
  onIdentified: (shown: string) => void;
  onCancel: () => void;
  onError: (error: unknown) => CommandError;
}) {
  const [nhs, setNhs] = useState("");
  const [matches, setMatches] = useState<IdentifyMatch[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const check = async () => {
    setError(null);
    try {
      setMatches(await api.identifyPreview(incident, nhs));
    } catch (failure) {
      setError(onError(failure).message);
    }
  };
  const identify = async () => {
    setError(null);
    try {
      onIdentified(await api.identifyIncident(incident, nhs));
    } catch (failure) {
      setError(onError(failure).message);
    }
  };

  return (
    <div className="dialog-backdrop">
      <form
        className="dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby="identify-title"
        data-testid="identify-dialog"
        onKeyDown={(event) => {
          if (event.key === "Escape") onCancel();
        }}
        onSubmit={(event) => {
          event.preventDefault();
          void (matches === null ? check() : identify());
        }}
      >
        <h2 id="identify-title">Identify the patient of incident {reference}</h2>
        <label htmlFor="identify-nhs">NHS number</label>
        <input
          id="identify-nhs"
          data-testid="identify-nhs"
          inputMode="numeric"
          autoComplete="off"
          value={nhs}
          autoFocus
          onChange={(event) => {
            setNhs(event.target.value);
            setMatches(null);
          }}
        />
        {matches !== null &&
          (matches.length === 0 ? (
            <p data-testid="identify-none">
              No record with NHS No. {nhsNumber(nhs)} on this device. The number is recorded with the incident; the
              record is shown with the patient's own once it reaches this device.
            </p>
          ) : (
            <div data-testid="identify-match">
              <p>
                NHS No. {nhsNumber(nhs)} is{" "}
                {matches.map((match) => (
                  <strong key={match.id}>
                    {match.display_name}
                    {match.birth_date ? `, born ${longDate(match.birth_date)}` : ""}, {match.sex}
                  </strong>
                ))}
                .
              </p>
              {matches.some((match) => match.mismatches.length > 0) && (
                <div className="scale-review" role="alert" data-testid="identify-mismatch">
                  Check before confirming: this does not match what was recorded on scene.
                  <ul>
                    {matches.flatMap((match) =>
                      match.mismatches.map((mismatch) => <li key={`${match.id}-${mismatch}`}>{mismatch}</li>),
                    )}
                  </ul>
                </div>
              )}
              <p>Is this the patient in front of you? Their record and this incident will be shown as one.</p>
            </div>
          ))}
        {error && (
          <p className="error" role="alert" data-testid="identify-error">
            {error}
          </p>
        )}
        <div className="actions">
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
          {matches === null ? (
            <button type="submit" className="primary" disabled={!nhs.trim()} data-testid="identify-check">
              Check NHS number
            </button>
          ) : (
            <button type="submit" className="primary" data-testid="identify-confirm">
              {matches.length === 0 ? "Record the NHS number" : "Yes, this is the patient"}
            </button>
          )}
        </div>
      </form>
    </div>
  );
}
