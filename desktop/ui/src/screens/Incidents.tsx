// Incidents: patients no one has identified yet (an ambulance crew's stranger). Starting one takes
// seconds and needs no NHS number: a reference, sex, an age band or estimate, and, when the age is
// unknown, adult or child; the core decides from that whether NEWS2 is used. The list shows this
// device's incidents newest first, identified or not.
import { useEffect, useState } from "react";
import { api, type AgeBand, type AgeGroup, type CommandError, type IncidentForm, type May, type Summary } from "../api";
import { Choices } from "../components/Choices";
import { LatestScore } from "../components/News2Badge";
import { dateTime, fromUkInput, identityLine, ukInputNow } from "../logic/format";

export const AGE_BANDS: { band: AgeBand; label: string }[] = [
  { band: "under-1", label: "Under 1" },
  { band: "1-4", label: "1–4" },
  { band: "5-12", label: "5–12" },
  { band: "13-15", label: "13–15" },
  { band: "16-17", label: "16–17" },
  { band: "18-39", label: "18–39" },
  { band: "40-64", label: "40–64" },
  { band: "65-79", label: "65–79" },
  { band: "80+", label: "80+" },
  { band: "unknown", label: "Not known" },
];

const SEXES: { sex: IncidentForm["sex"]; label: string }[] = [
  { sex: "male", label: "Male" },
  { sex: "female", label: "Female" },
  { sex: "other", label: "Other" },
  { sex: "unknown", label: "Not known" },
];

function NewIncident({
  onStarted,
  onCancel,
  onError,
}: {
  onStarted: (id: string) => void;
  onCancel: () => void;
  onError: (error: unknown) => CommandError;
}) {
  const [reference, setReference] = useState("");
  const [sex, setSex] = useState<IncidentForm["sex"] | null>(null);
  const [band, setBand] = useState<AgeBand | null>(null);
  const [estimated, setEstimated] = useState("");
  const [group, setGroup] = useState<AgeGroup | null>(null);
  const [description, setDescription] = useState("");
  const [place, setPlace] = useState("");
  const [occurred, setOccurred] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const start = async () => {
    setError(null);
    if (!sex || !band) {
      setError("Choose the sex (or not known) and an age band (or not known).");
      return;
    }
    const age = estimated.trim() === "" ? null : Number(estimated);
    if (age !== null && (!Number.isInteger(age) || age < 0)) {
      setError("The estimated age is a whole number of years.");
      return;
    }
    const when = occurred ? fromUkInput(occurred) : null;
    if (when && "error" in when) {
      setError(when.error);
      return;
    }
    setBusy(true);
    try {
      const id = await api.startIncident({
        occurred_at: when ? when.iso : null,
        reference,
        place,
        description,
        sex,
        age_band: band,
        estimated_age: age,
        stated_group: group,
      });
      onStarted(id);
    } catch (failure) {
      // The core's words: what is missing or contradicts, and what to do.
      setError(onError(failure).message);
      setBusy(false);
    }
  };

  return (
    <form
      className="new-incident"
      aria-labelledby="new-incident-title"
      data-testid="new-incident"
      onSubmit={(event) => {
        event.preventDefault();
        void start();
      }}
    >
      <h2 id="new-incident-title">New incident: patient not identified</h2>
      <label htmlFor="incident-reference">Incident reference (dispatch number)</label>
      <input
        id="incident-reference"
        data-testid="incident-reference"
        value={reference}
        onChange={(event) => setReference(event.target.value)}
        autoFocus
        autoComplete="off"
      />
      <fieldset>
        <legend>Sex</legend>
        <Choices
          label="Sex"
          options={SEXES.map((choice) => ({ value: choice.sex, label: choice.label }))}
          value={sex}
          onChoose={setSex}
          testid="incident-sex"
        />
      </fieldset>
      <fieldset>
        <legend>Age band (years)</legend>
        <Choices
          label="Age band"
          options={AGE_BANDS.map((choice) => ({ value: choice.band, label: choice.label }))}
          value={band}
          onChoose={setBand}
          testid="incident-band"
        />
      </fieldset>
      <label htmlFor="incident-age">Estimated age (years, optional)</label>
      <input
        id="incident-age"
        data-testid="incident-age"
        inputMode="numeric"
        value={estimated}
        onChange={(event) => setEstimated(event.target.value)}
      />
      <fieldset>
        <legend>Adult (16 or over) or child? Needed when the age is not known: it decides whether NEWS2 is used.</legend>
        <Choices
          label="Adult or child"
          options={[
            { value: "adult" as AgeGroup, label: "Adult" },
            { value: "child" as AgeGroup, label: "Child" },
          ]}
          value={group}
          // A second tap clears it: "not known" is a choice too.
          onChoose={(choice) => setGroup(group === choice ? null : choice)}
          testid="incident-group"
        />
      </fieldset>
      <label htmlFor="incident-description">What happened (optional)</label>
      <input
        id="incident-description"
        data-testid="incident-description"
        value={description}
        onChange={(event) => setDescription(event.target.value)}
      />
      <label htmlFor="incident-occurred">When it happened or began, if known (UK time)</label>
      <input
        id="incident-occurred"
        data-testid="incident-occurred"
        type="datetime-local"
        value={occurred}
        max={ukInputNow(new Date())}
        onChange={(event) => setOccurred(event.target.value)}
      />
      <label htmlFor="incident-place">Where (optional)</label>
      <input id="incident-place" value={place} onChange={(event) => setPlace(event.target.value)} />
      {error && (
        <p className="error" role="alert" data-testid="incident-error">
          {error}
        </p>
      )}
      <div className="actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={busy} data-testid="incident-start">
          Start incident record
        </button>
      </div>
    </form>
  );
}

export function Incidents({
  may,
  startNew,
  onOpen,
  onClose,
  onError,
}: {
  may: May;
  /** Opened from the caseload's "New incident": the form first. */
  startNew: boolean;
  onOpen: (patient: string) => void;
  onClose: () => void;
  onError: (error: unknown) => CommandError;
}) {
  const [rows, setRows] = useState<Summary[] | null>(null);
  const [starting, setStarting] = useState(startNew && may.start_incident);

  useEffect(() => {
    api.incidents().then(setRows).catch(onError);
  }, [onError]);

  const now = new Date();
  return (
    <main className="page incidents">
      <div className="toolbar">
        <h1>Incidents</h1>
        {may.start_incident && !starting && (
          <button className="primary" data-testid="new-incident-open" onClick={() => setStarting(true)}>
            New incident
          </button>
        )}
        <button onClick={onClose}>Back to caseload</button>
      </div>
      {starting && <NewIncident onStarted={onOpen} onCancel={() => setStarting(false)} onError={onError} />}
      {rows === null ? null : rows.length === 0 ? (
        <p className="empty">No incident records on this device.</p>
      ) : (
        <ul className="patients" aria-label={`${rows.length} incidents`} data-testid="incident-list">
          {rows.map((row) => (
            <li key={row.id} className="patient-row" data-testid="incident-row">
              <button className="patient-open" onClick={() => onOpen(row.id)}>
                <span className="patient-name">
                  {row.display_name}
                  {row.nhs_number ? (
                    <span className="chip chip-identified" data-testid="incident-identified">
                      Identified
                    </span>
                  ) : (
                    <span className="chip chip-incident">Not identified</span>
                  )}
                </span>
                <span className="patient-meta">
                  {row.incident ? `Started ${dateTime(row.incident.started)} · ` : ""}
                  {identityLine(row, now)}
                  {row.incident?.description ? ` · ${row.incident.description}` : ""}
                </span>
              </button>
              <span className="patient-news2">
                <LatestScore row={row} now={now} />
              </span>
            </li>
          ))}
        </ul>
      )}
    </main>
  );
}
