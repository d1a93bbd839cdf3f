// A patient's record: the banner with alerts, conflicts in plain words, observations (chart and
// list, with entered-in-error), medications, problems, care plan and visit notes; and how
// current it is ("last synced", changes not yet sent).
import { useCallback, useEffect, useState } from "react";
import { api, type Author, type CommandError, type Observation, type PatientRecord } from "../api";
import { AlertBanner } from "../components/AlertBanner";
import { EscalationDialog, serviceLabel } from "../components/EscalationDialog";
import { NotApplicableNotice, SetBadge } from "../components/News2Badge";
import { ObsChart } from "../components/ObsChart";
import { ReasonDialog } from "../components/ReasonDialog";
import { ago, authorName, dateTime, longDate } from "../logic/format";

type MaternityChoice = "pregnant" | "postnatal" | "none";

/** "Pregnant, expected delivery 12 Mar 2027 (recorded by …)" */
function maternityText(record: PatientRecord): string {
  const entry = record.maternity;
  if (!entry) return "Not recorded";
  const by = ` (recorded by ${authorName(entry.by, record.authors)}, ${dateTime(entry.at)})`;
  switch (entry.status) {
    case "pregnant":
      return `Pregnant, expected delivery ${longDate(entry.expected_delivery ?? "")}${by}`;
    case "postnatal":
      return `Postnatal, delivered ${longDate(entry.delivered ?? "")}${by}`;
    default:
      return `Neither pregnant nor postnatal${by}`;
  }
}

/** A recorded value in words: "2 Mill Lane, Ambridge, ZZ1 1AA" rather than its JSON. */
function plainValue(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.map(plainValue).filter(Boolean).join(", ");
  if (typeof value === "object") return Object.values(value).map(plainValue).filter(Boolean).join(", ");
  return String(value);
}

/** One of a conflict's values: what was recorded, by whom, when. */
function describeConflictValue(value: unknown, authors: PatientRecord["authors"]): string {
  if (value && typeof value === "object" && "by" in value) {
    const entry = value as { value?: unknown; by?: Author; at?: string };
    const shown = plainValue(entry.value);
    const at = entry.at ? `, ${dateTime(entry.at)}` : "";
    return `"${shown}" (recorded by ${authorName(entry.by, authors)}${at})`;
  }
  return `"${plainValue(value)}"`;
}

export function RecordScreen({
  patient,
  emergencyReason,
  until,
  onObserve,
  onClose,
  onError,
}: {
  patient: string;
  emergencyReason?: string;
  until?: number;
  onObserve: (patientName: string, scale: number) => void;
  onClose: () => void;
  onError: (error: unknown) => CommandError;
}) {
  const [record, setRecord] = useState<PatientRecord | null>(null);
  const [carePlan, setCarePlan] = useState("");
  const [note, setNote] = useState("");
  const [saved, setSaved] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [errorFor, setErrorFor] = useState<Observation | null>(null);
  const [now, setNow] = useState(Date.now());
  const [escalating, setEscalating] = useState(false);
  const [maternity, setMaternity] = useState<MaternityChoice | null>(null);
  const [maternityDate, setMaternityDate] = useState("");

  const load = useCallback(async () => {
    try {
      const opened = emergencyReason
        ? await api.emergencyAccess(patient, emergencyReason)
        : await api.record(patient);
      setRecord(opened);
      setCarePlan(opened.care_plan);
    } catch (failure) {
      setError(onError(failure).message);
    }
    // Emergency access is audited once, when opened; later reloads read the record normally.
  }, [patient, emergencyReason, onError]);

  useEffect(() => {
    void load();
  }, [load]);

  useEffect(() => {
    if (!until) return;
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [until]);

  useEffect(() => {
    if (until && now >= until) onClose();
  }, [until, now, onClose]);

  const reload = async () => {
    try {
      const fresh = await api.record(patient);
      setRecord(fresh);
    } catch (failure) {
      setError(onError(failure).message);
    }
  };

  const act = async (work: () => Promise<void>, done: string) => {
    setError(null);
    setSaved(null);
    try {
      await work();
      setSaved(done);
      await reload();
    } catch (failure) {
      setError(onError(failure).message);
    }
  };

  if (!record) {
    return <main className="page">{error && <p className="error" role="alert">{error}</p>}</main>;
  }
  const observations = [...record.observations].sort((a, b) => b.taken_at.localeCompare(a.taken_at));
  const minutesLeft = until ? Math.max(0, Math.ceil((until - now) / 60_000)) : null;

  return (
    <main className="page record">
      {emergencyReason && (
        <p className="emergency" role="alert" data-testid="emergency-banner">
          Emergency access, audited: “{emergencyReason}”. Closes in {minutesLeft} minute{minutesLeft === 1 ? "" : "s"}.
        </p>
      )}
      <AlertBanner record={record} />
      {record.news2_not_applicable_now && <NotApplicableNotice notApplicable={record.news2_not_applicable_now} />}
      <p className="freshness" data-testid="record-sync">
        {record.sync.enrolled
          ? record.sync.last_sync
            ? `Last synced ${ago(record.sync.last_sync, new Date())}`
            : "Not synced yet"
          : "On this device only"}
        {record.sync.unsynced_changes && " · changes on this device not yet sent"}
      </p>
      {record.conflicts.length > 0 && (
        <section className="conflicts" aria-label="Conflicting values" data-testid="conflicts">
          <h2>Conflicting values</h2>
          {record.conflicts.map((conflict) => (
            <p key={conflict.field}>
              Two devices recorded different {conflict.field.replace(/_/g, " ")}:{" "}
              {conflict.values.map((value) => describeConflictValue(value, record.authors)).join(" and ")}. Check with the patient and record the
              right value again.
            </p>
          ))}
        </section>
      )}
      <div className="actions-row">
        <button
          className="primary big"
          onClick={() => onObserve(`${record.given} ${record.family}`, record.spo2_scale)}
          data-testid="record-observations"
        >
          Record observations
        </button>
        <button onClick={onClose}>Back to caseload</button>
      </div>
      {saved && (
        <p className="saved" role="status">
          {saved}
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}

      <section aria-labelledby="obs-title">
        <h2 id="obs-title">Observations</h2>
        <ObsChart
          observations={record.observations}
          escalations={record.escalations}
          scale={record.spo2_scale}
          news2Applies={!record.news2_not_applicable_now}
          onError={onError}
        />
        <table className="obs-table">
          <thead>
            <tr>
              <th>Taken</th>
              <th>NEWS2</th>
              <th>RR</th>
              <th>SpO₂</th>
              <th>O₂</th>
              <th>BP</th>
              <th>Pulse</th>
              <th>ACVPU</th>
              <th>Temp</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {observations.map((o) => (
              <tr key={o.id} className={o.entered_in_error ? "struck" : ""} data-testid="obs-row">
                <td>
                  {dateTime(o.taken_at)}
                  <br />
                  <small>{authorName(o.author, record.authors)}</small>
                </td>
                <td>
                  <SetBadge set={o} />
                </td>
                <td>{o.vitals.respiration_rate ?? "–"}</td>
                <td>{o.vitals.spo2 ?? "–"}</td>
                <td>{o.vitals.on_oxygen === undefined ? "–" : o.vitals.on_oxygen ? "O₂" : "Air"}</td>
                <td>{o.vitals.systolic_bp ?? "–"}</td>
                <td>{o.vitals.pulse ?? "–"}</td>
                <td>{o.vitals.consciousness ?? "–"}</td>
                <td>{o.vitals.temperature ?? "–"}</td>
                <td>
                  {o.entered_in_error ? (
                    <span className="eie">
                      Entered in error: {o.entered_in_error.reason}
                      <small> ({authorName(o.entered_in_error.by, record.authors)})</small>
                    </span>
                  ) : (
                    <button className="small" onClick={() => setErrorFor(o)}>
                      Entered in error…
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section aria-labelledby="escalations-title" data-testid="escalations">
        <h2 id="escalations-title">Escalations</h2>
        {record.escalations.length === 0 ? (
          <p className="empty">No escalations recorded.</p>
        ) : (
          <ul className="escalations">
            {[...record.escalations]
              .sort((a, b) => b.at.localeCompare(a.at))
              .map((entry) => (
                <li key={entry.id} data-testid="escalation-row">
                  <strong>{serviceLabel(entry.service)}</strong> {dateTime(entry.at)}: {entry.outcome}
                  {entry.reference && <> · ref {entry.reference}</>}
                  {entry.sbar && <p className="sbar">{entry.sbar}</p>}
                  <small> {authorName(entry.recorded.by, record.authors)}</small>
                </li>
              ))}
          </ul>
        )}
        <button onClick={() => setEscalating(true)} data-testid="record-escalation">
          Record escalation
        </button>
      </section>

      <section aria-labelledby="maternity-title" data-testid="maternity">
        <h2 id="maternity-title">Pregnancy status</h2>
        <p data-testid="maternity-status">{maternityText(record)}</p>
        <p className="hint">NEWS2 is not used in pregnancy or in the weeks after birth: the maternity early warning chart is.</p>
        <div className="segmented" role="radiogroup" aria-label="Pregnancy status">
          {(
            [
              ["pregnant", "Pregnant"],
              ["postnatal", "Postnatal"],
              ["none", "Neither"],
            ] as const
          ).map(([key, label]) => (
            <button
              key={key}
              role="radio"
              data-testid={`maternity-${key}`}
              aria-checked={maternity === key}
              className={maternity === key ? "chosen" : ""}
              onClick={() => setMaternity(key)}
            >
              {label}
            </button>
          ))}
        </div>
        {maternity && maternity !== "none" && (
          <>
            <label htmlFor="maternity-date">{maternity === "pregnant" ? "Expected date of delivery" : "Date of delivery"}</label>
            <input
              id="maternity-date"
              data-testid="maternity-date"
              type="date"
              value={maternityDate}
              onChange={(event) => setMaternityDate(event.target.value)}
            />
          </>
        )}
        <button
          disabled={!maternity || (maternity !== "none" && !maternityDate)}
          data-testid="save-maternity"
          onClick={() => {
            const choice = maternity;
            if (!choice) return;
            void act(async () => {
              await api.setMaternity(patient, choice, choice === "none" ? null : maternityDate);
              setMaternity(null);
              setMaternityDate("");
            }, "Pregnancy status saved on this device.");
          }}
        >
          Save pregnancy status
        </button>
      </section>

      <section aria-labelledby="meds-title">
        <h2 id="meds-title">Medications</h2>
        {record.medications && record.medications.items.length > 0 ? (
          <>
            <ul>
              {record.medications.items.map((item, i) => (
                <li key={i}>
                  <strong>{item.name}</strong> {item.dose}, {item.frequency}
                </li>
              ))}
            </ul>
            <p className="hint">
              From {record.medications.source}, {dateTime(record.medications.as_of)}
            </p>
          </>
        ) : (
          <p className="empty">No medications recorded.</p>
        )}
      </section>

      <section aria-labelledby="problems-title">
        <h2 id="problems-title">Problems</h2>
        {record.problems && record.problems.items.length > 0 ? (
          <ul>
            {record.problems.items.map((item, i) => (
              <li key={i}>{item}</li>
            ))}
          </ul>
        ) : (
          <p className="empty">No problems recorded.</p>
        )}
      </section>

      <section aria-labelledby="plan-title">
        <h2 id="plan-title">Care plan</h2>
        <label htmlFor="care-plan" className="visually-hidden">
          Care plan
        </label>
        <textarea id="care-plan" rows={5} value={carePlan} onChange={(event) => setCarePlan(event.target.value)} />
        {record.care_plan_edited && <p className="hint">Last edited {dateTime(record.care_plan_edited.at)}</p>}
        <button
          disabled={carePlan === record.care_plan}
          onClick={() => void act(() => api.setCarePlan(patient, carePlan), "Care plan saved on this device.")}
        >
          Save care plan
        </button>
      </section>

      <section aria-labelledby="notes-title">
        <h2 id="notes-title">Visit notes</h2>
        <label htmlFor="new-note" className="visually-hidden">
          New note
        </label>
        <textarea id="new-note" rows={3} placeholder="Write a visit note" value={note} onChange={(event) => setNote(event.target.value)} />
        <button
          disabled={!note.trim()}
          onClick={() =>
            void act(async () => {
              await api.addNote(patient, note);
              setNote("");
            }, "Note saved on this device.")
          }
        >
          Add note
        </button>
        <ul className="notes">
          {[...record.notes]
            .sort((a, b) => b.recorded.at.localeCompare(a.recorded.at))
            .map((entry) => (
              <li key={entry.id} className={entry.entered_in_error ? "struck" : ""}>
                <p>{entry.text}</p>
                <small>
                  {dateTime(entry.recorded.at)} · {authorName(entry.recorded.by, record.authors)}
                </small>
              </li>
            ))}
        </ul>
      </section>

      {escalating && (
        <EscalationDialog
          patient={patient}
          observation={null}
          suggested={null}
          onCancel={() => setEscalating(false)}
          onDone={(message) => {
            setEscalating(false);
            setSaved(message);
            void reload();
          }}
          onError={onError}
        />
      )}
      {errorFor && (
        <ReasonDialog
          id="eie"
          title="Mark entered in error"
          confirm="Mark entered in error"
          onCancel={() => setErrorFor(null)}
          onConfirm={(reason) => {
            const target = errorFor;
            setErrorFor(null);
            void act(
              () => api.enteredInError(target.id, reason),
              "Marked entered in error; the set stays in the record, struck through.",
            );
          }}
        >
          <p>The set from {dateTime(errorFor.taken_at)} stays in the record, struck through, with your reason.</p>
        </ReasonDialog>
      )}
    </main>
  );
}
