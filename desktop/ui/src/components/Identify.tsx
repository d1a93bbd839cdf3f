// Identifying an incident's patient with their NHS number. Nothing changes until the clinician has
// seen whose record the number belongs to on this device beside what was recorded on scene, said
// how they know, and confirmed with a deliberate tap (Enter only checks the number): linking a
// stranger's scene record to the wrong person's history, with their alerts, is the hazard (H40).
// A wrong identification can be withdrawn here too.
import { useState } from "react";
import { api, type CommandError, type IdentificationSource, type IdentifyMatch, type IncidentView } from "../api";
import { longDate, nhsNumber } from "../logic/format";
import { Choices } from "./Choices";

export const SOURCES: { source: IdentificationSource; label: string }[] = [
  { source: "patient", label: "The patient" },
  { source: "relative-or-carer", label: "Relative or carer" },
  { source: "document", label: "Card or document" },
  { source: "police", label: "Police" },
  { source: "care-record", label: "Care record" },
  { source: "other", label: "Other" },
];

export function IdentifyPatient({
  incident,
  scene,
  identified,
  onIdentified,
  onWithdrawn,
  onCancel,
  onError,
}: {
  incident: string;
  /** What was recorded on scene, shown beside the record the number belongs to. */
  scene: { name: string; incident: IncidentView };
  /** The incident already carries an NHS number: offer to withdraw it. */
  identified: boolean;
  onIdentified: (shown: string) => void;
  onWithdrawn: () => void;
  onCancel: () => void;
  onError: (error: unknown) => CommandError;
}) {
  const [nhs, setNhs] = useState("");
  const [matches, setMatches] = useState<IdentifyMatch[] | null>(null);
  const [source, setSource] = useState<IdentificationSource | null>(null);
  const [checked, setChecked] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const mismatched = (matches ?? []).some((match) => match.mismatches.length > 0);

  const check = async () => {
    setError(null);
    setChecked(false);
    try {
      setMatches(await api.identifyPreview(incident, nhs));
    } catch (failure) {
      setError(onError(failure).message);
    }
  };
  const identify = async () => {
    if (!source) {
      setError("Say how you know who the patient is.");
      return;
    }
    setError(null);
    try {
      onIdentified(await api.identifyIncident(incident, nhs, source));
    } catch (failure) {
      setError(onError(failure).message);
    }
  };
  const withdraw = async () => {
    setError(null);
    try {
      await api.withdrawIdentification(incident);
      onWithdrawn();
    } catch (failure) {
      setError(onError(failure).message);
    }
  };

  return (
    <div className="dialog-backdrop">
      <form
        className="dialog identify"
        role="dialog"
        aria-modal="true"
        aria-labelledby="identify-title"
        data-testid="identify-dialog"
        onKeyDown={(event) => {
          if (event.key === "Escape") onCancel();
        }}
        onSubmit={(event) => {
          // Enter checks the number; linking takes a tap on the confirm button.
          event.preventDefault();
          void check();
        }}
      >
        <h2 id="identify-title">Identify the patient of incident {scene.incident.reference}</h2>
        <p className="scene" data-testid="identify-scene">
          On scene: <strong>{scene.name}</strong>
          {scene.incident.description ? ` · ${scene.incident.description}` : ""}
          {scene.incident.place ? ` · ${scene.incident.place}` : ""}
        </p>
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
              <p>NHS No. {nhsNumber(nhs)} on this device is:</p>
              <ul>
                {matches.map((match) => (
                  <li key={match.id}>
                    <strong>{match.display_name}</strong>
                    {match.birth_date ? `, born ${longDate(match.birth_date)}` : ""}, {match.sex}
                  </li>
                ))}
              </ul>
              {mismatched && (
                <div className="scale-review" role="alert" data-testid="identify-mismatch">
                  Check before confirming: this does not match what was recorded on scene.
                  <ul>
                    {matches.flatMap((match) =>
                      match.mismatches.map((mismatch) => <li key={`${match.id}-${mismatch}`}>{mismatch}</li>),
                    )}
                  </ul>
                  <label className="check">
                    <input
                      type="checkbox"
                      data-testid="identify-checked"
                      checked={checked}
                      onChange={(event) => setChecked(event.target.checked)}
                    />{" "}
                    I have checked: this is the patient in front of me
                  </label>
                </div>
              )}
              <p>Is this the patient in front of you? Their record and this incident will be shown as one.</p>
            </div>
          ))}
        {matches !== null && (
          <fieldset>
            <legend>How do you know?</legend>
            <Choices
              label="How you know who the patient is"
              options={SOURCES.map((choice) => ({ value: choice.source, label: choice.label }))}
              value={source}
              onChoose={setSource}
              testid="identify-source"
            />
          </fieldset>
        )}
        {error && (
          <p className="error" role="alert" data-testid="identify-error">
            {error}
          </p>
        )}
        <div className="actions">
          {identified && (
            <button type="button" className="danger" data-testid="identify-withdraw" onClick={() => void withdraw()}>
              Not identified after all: withdraw
            </button>
          )}
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
          {matches === null ? (
            <button type="submit" className="primary" disabled={!nhs.trim()} data-testid="identify-check">
              Check NHS number
            </button>
          ) : (
            <button
              type="button"
              className="primary"
              data-testid="identify-confirm"
              disabled={!source || (mismatched && !checked)}
              onClick={() => void identify()}
            >
              {matches.length === 0 ? "Record the NHS number" : "Yes, this is the patient"}
            </button>
          )}
        </div>
      </form>
    </div>
  );
}
