// A patient's record: the banner with alerts (fixed while scrolling), conflicts in plain words
// and settled here, observations (chart and list, with entered-in-error), medications (marked
// when out of date), problems, care plan and visit notes; and how current it is ("last synced",
// changes not yet sent). Actions the user's role may not take are not offered; the core refuses
// them anyway. A record restricted to others shows its banner only, with emergency access.
import { useCallback, useEffect, useRef, useState } from "react";
import {
  api,
  type Author,
  type CommandError,
  type Identification,
  type IncidentView,
  type May,
  type Observation,
  type PatientRecord,
} from "../api";
import { PatientBanner } from "../components/PatientBanner";
import { EscalationDialog, serviceLabel } from "../components/EscalationDialog";
import { NotApplicableNotice, SetBadge } from "../components/News2Badge";
import { ObsChart } from "../components/ObsChart";
import { ReasonDialog } from "../components/ReasonDialog";
import { HandoverDialog } from "../components/Handover";
import { IdentifyPatient, SOURCES } from "../components/Identify";
import { RestrictedNotice, RestrictionSection } from "../components/Restriction";
import { ago, authorName, dateTime, longDate, nhsNumber } from "../logic/format";

type MaternityChoice = "pregnant" | "postnatal" | "none";

/** "Identified as NHS No. … from a card or document by Nell Nightingale (nurse), 3 Dec 17:46" */
function identificationText(identification: Identification, authors: PatientRecord["authors"]): string {
  const who = `${authorName(identification.by, authors)}, ${dateTime(identification.at)}`;
  if (!identification.nhs_number) return `Identification withdrawn by ${who}.`;
  const how = SOURCES.find((choice) => choice.source === identification.source)?.label.toLowerCase() ?? "not stated";
  return `Identified as NHS No. ${nhsNumber(identification.nhs_number)} (how known: ${how}) by ${who}.`;
}

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

/** One of a conflict's values: what was recorded, and by whom, when. */
function conflictValue(value: unknown, authors: PatientRecord["authors"]): { shown: string; who: string } {
  if (value && typeof value === "object" && "by" in value) {
    const entry = value as { value?: unknown; scale?: number; status?: string; by?: Author; at?: string };
    const shown =
      entry.scale !== undefined
        ? `Scale ${entry.scale}`
        : entry.value !== undefined
          ? plainValue(entry.value)
          : plainValue({ ...entry, by: undefined, at: undefined, period: undefined });
    const at = entry.at ? `, ${dateTime(entry.at)}` : "";
    return { shown, who: `recorded by ${authorName(entry.by, authors)}${at}` };
  }
  return { shown: plainValue(value), who: "" };
}

const CONFLICT_NAMES: Record<string, string> = {
  care_plan: "care plan",
  spo2_scale_decision: "SpO₂ scale decision",
  given: "given name",
  family: "family name",
  birth_date: "date of birth",
  nhs_number: "NHS number",
  gp_practice: "GP practice",
  maternity: "pregnancy status",
  allergy_status: "allergy status",
};

/** Fields where a new value can be entered in place of the recorded ones (the SpO₂ scale and the
 * pregnancy status are decided again in their own sections). The core checks each value's shape. */
const ENTERABLE = new Set(["care_plan", "given", "family", "nhs_number", "birth_date", "sex", "address", "gp_practice"]);

/** The form for a new value of `field`, and the value it makes (null until it is complete). */
function NewValue({ field, name, onSave }: { field: string; name: string; onSave: (value: unknown) => void }) {
  const [text, setText] = useState("");
  const [lines, setLines] = useState("");
  const [town, setTown] = useState("");
  const [postcode, setPostcode] = useState("");
  const [ods, setOds] = useState("");
  const id = `new-${field}`;
  let value: unknown = null;
  let inputs;
  switch (field) {
    case "care_plan":
      value = text.trim() ? text : null;
      inputs = <textarea id={id} value={text} onChange={(event) => setText(event.target.value)} />;
      break;
    case "birth_date":
      value = text || null;
      inputs = <input id={id} type="date" value={text} onChange={(event) => setText(event.target.value)} />;
      break;
    case "sex":
      value = text || null;
      inputs = (
        <select id={id} value={text} onChange={(event) => setText(event.target.value)}>
          <option value="">Choose…</option>
          <option value="female">Female</option>
          <option value="male">Male</option>
          <option value="other">Other</option>
          <option value="unknown">Unknown</option>
        </select>
      );
      break;
    case "address": {
      const split = lines
        .split("\n")
        .map((line) => line.trim())
        .filter(Boolean);
      value = split.length > 0 && town.trim() && postcode.trim() ? { lines: split, town: town.trim(), postcode: postcode.trim() } : null;
      inputs = (
        <>
          <textarea id={id} value={lines} onChange={(event) => setLines(event.target.value)} placeholder="One line each" />
          <label htmlFor={`${id}-town`}>Town</label>
          <input id={`${id}-town`} value={town} onChange={(event) => setTown(event.target.value)} />
          <label htmlFor={`${id}-postcode`}>Postcode</label>
          <input id={`${id}-postcode`} value={postcode} onChange={(event) => setPostcode(event.target.value)} />
        </>
      );
      break;
    }
    case "gp_practice":
      value = ods.trim() && text.trim() ? { ods_code: ods.trim(), name: text.trim() } : null;
      inputs = (
        <>
          <input id={id} value={text} onChange={(event) => setText(event.target.value)} placeholder="Practice name" />
          <label htmlFor={`${id}-ods`}>ODS code</label>
          <input id={`${id}-ods`} value={ods} onChange={(event) => setOds(event.target.value)} />
        </>
      );
      break;
    default:
      value = text.trim() ? text.trim() : null;
      inputs = <input id={id} value={text} onChange={(event) => setText(event.target.value)} />;
  }
  return (
    <div className="new-value">
      <label htmlFor={id}>Or enter the right {name}</label>
      {inputs}
      <button disabled={value === null} onClick={() => value !== null && onSave(value)} data-testid={`save-new-${field}`}>
        Save this {name}
      </button>
    </div>
  );
}

/** A conflict, its values side by side, and the clinician's choice (or a new value). */
function ConflictCard({
  field,
  values,
  record,
  may,
  onResolve,
}: {
  field: string;
  values: unknown[];
  record: PatientRecord;
  may: May;
  onResolve: (choice: { keep: unknown } | { value: unknown }) => void;
}) {
  const name = CONFLICT_NAMES[field] ?? field.replace(/_/g, " ");
  return (
    <div className="conflict" data-testid={`conflict-${field}`}>
      <p>
        Two devices recorded different <strong>{name}</strong> while apart (neither had seen the other's). Check with the patient or the team, then
        keep the right one{ENTERABLE.has(field) ? " or enter it again" : ""}.
      </p>
      <div className="conflict-values">
        {values.map((value, index) => {
          const { shown, who } = conflictValue(value, record.authors);
          return (
            <div key={index} className="conflict-value" data-testid="conflict-value">
              <blockquote>{shown || "(empty)"}</blockquote>
              <small>{who}</small>
              {may.resolve_conflict && (
                <button onClick={() => onResolve({ keep: value })} data-testid={`keep-${field}-${index}`}>
                  Keep this {name}
                </button>
              )}
            </div>
          );
        })}
      </div>
      {may.resolve_conflict && ENTERABLE.has(field) && (
        <NewValue field={field} name={name} onSave={(value) => onResolve({ value })} />
      )}
      {!may.resolve_conflict && <p className="hint">A registered nurse, midwife or paramedic settles this.</p>}
    </div>
  );
}

type NumericVital = "respiration_rate" | "spo2" | "systolic_bp" | "pulse" | "temperature";

/** A value, marked where it was unusual and its author confirmed it before saving. */
function VitalCell({ set, field }: { set: Observation; field: NumericVital }) {
  const value = set.vitals[field];
  if (value === undefined || value === null) return <>–</>;
  const checked = set.confirmed_unusual?.includes(field);
  return (
    <>
      {value}
      {checked && (
        <small className="checked-mark" data-testid="checked-unusual" title="Unusual value, checked by its author before saving">
          {" "}
          checked
        </small>
      )}
    </>
  );
}

export function RecordScreen({
  patient,
  may,
  onObserve,
  onOpen,
  onClose,
  onError,
}: {
  patient: string;
  may: May;
  onObserve: (record: PatientRecord) => void;
  /** Another record to show instead (the registered patient an incident was identified as). */
  onOpen: (patient: string) => void;
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
  const [scaleChoice, setScaleChoice] = useState<1 | 2 | null>(null);
  const [scaleNote, setScaleNote] = useState("");
  const [emergencyReason, setEmergencyReason] = useState<string | null>(null);
  const [handingOver, setHandingOver] = useState(false);
  const [identifying, setIdentifying] = useState<{
    incident: string;
    scene: { name: string; incident: IncidentView };
    identified: boolean;
  } | null>(null);

  // The latest navigation callback, without reloading (and re-auditing) the record whenever the
  // app re-renders with a new one.
  const openRef = useRef(onOpen);
  openRef.current = onOpen;

  const load = useCallback(async () => {
    try {
      const opened = await api.record(patient);
      // An identified incident is shown as its patient's record: work on it goes there.
      if (opened.id !== patient) {
        openRef.current(opened.id);
        return;
      }
      setRecord(opened);
      setCarePlan(opened.care_plan);
    } catch (failure) {
      setError(onError(failure).message);
    }
  }, [patient, onError]);

  useEffect(() => {
    void load();
  }, [load]);

  // Emergency access ends at the core's time: the record then shows its banner only again.
  const until = record?.access.access === "emergency" ? Date.parse(record.access.until) : null;
  useEffect(() => {
    if (!until) return;
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [until]);

  useEffect(() => {
    if (until && now >= until) {
      setEmergencyReason(null);
      void load();
    }
  }, [until, now, load]);

  const openInEmergency = async (reason: string) => {
    setError(null);
    try {
      const opened = await api.emergencyAccess(patient, reason);
      setEmergencyReason(reason);
      setNow(Date.now());
      setRecord(opened);
      setCarePlan(opened.care_plan);
    } catch (failure) {
      setError(onError(failure).message);
    }
  };

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
  // Fixed at the foot of the screen: the outcome of a button far down the record is seen where
  // the clinician is looking, not at the top of the page.
  const outcome = (saved || error) && (
    <div className="toast" data-testid="toast">
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
      <button
        className="small"
        onClick={() => {
          setSaved(null);
          setError(null);
        }}
      >
        Dismiss
      </button>
    </div>
  );

  const restrictionSection = (
    <RestrictionSection
      record={record}
      may={may}
      onError={onError}
      onRestrict={(reason, clinicians) =>
        void act(
          () =>
            api.restrictRecord(
              patient,
              reason,
              clinicians.map(({ device, name }) => ({ device, name })),
            ),
          "Record restricted: the rest of the team now sees its banner only.",
        )
      }
      onLift={() => void act(() => api.liftRestriction(patient), "Restriction lifted: the whole team sees the record.")}
    />
  );

  if (record.access.access === "banner-only") {
    return (
      <main className="page record">
        <PatientBanner record={record} />
        <RestrictedNotice record={record} may={may} onEmergency={(reason) => void openInEmergency(reason)}>
          {record.access.may_decide && restrictionSection}
        </RestrictedNotice>
        {outcome}
        <div className="actions-row">
          <button onClick={onClose}>Back to caseload</button>
        </div>
      </main>
    );
  }
  const observations = [...record.observations].sort((a, b) => b.taken_at.localeCompare(a.taken_at));
  const carePlanDisputed = record.conflicts.some((conflict) => conflict.field === "care_plan");
  const minutesLeft = until ? Math.max(0, Math.ceil((until - now) / 60_000)) : null;

  return (
    <main className="page record">
      <PatientBanner
        record={record}
        emergency={
          minutesLeft !== null ? (
            <p className="emergency" role="status" data-testid="emergency-banner">
              Emergency access, audited{emergencyReason ? `: “${emergencyReason}”` : ""}. Closes in {minutesLeft} minute
              {minutesLeft === 1 ? "" : "s"}
              {minutesLeft <= 5 ? ": save what you are writing now." : "."}
            </p>
          ) : undefined
        }
      />
      {record.news2_not_applicable_now && <NotApplicableNotice notApplicable={record.news2_not_applicable_now} />}
      <p className="freshness" data-testid="record-sync">
        {record.sync.enrolled
          ? record.sync.last_sync
            ? `Last synced ${ago(record.sync.last_sync, new Date())}`
            : "Not synced yet"
          : "On this device only"}
        {record.sync.unsynced_changes && " · changes on this device not yet sent"}
      </p>
      {(record.incident || record.linked.length > 0) && (
        <section className="incident" aria-labelledby="incident-title" data-testid="incident-section">
          <h2 id="incident-title">{record.incident ? `Incident ${record.incident.reference}` : "Linked incident records"}</h2>
          {record.incident && (
            <p data-testid="incident-details">
              Started {dateTime(record.incident.started)} by {authorName(record.incident.by, record.authors)}
              {record.incident.occurred_at ? `; happened or began ${dateTime(record.incident.occurred_at)}` : ""}
              {record.incident.place ? ` at ${record.incident.place}` : ""}
              {record.incident.description ? `: ${record.incident.description}` : ""}.{" "}
              {record.nhs_number
                ? ""
                : "Not identified yet: NEWS2 is used as for " +
                  (record.incident.age_group === "adult" ? "an adult (16 or over)." : "a child (under 16): it is not.")}
            </p>
          )}
          {record.identification && (
            <p data-testid="identification">{identificationText(record.identification, record.authors)}</p>
          )}
          {record.incident && may.amend_record && (
            <button
              className={record.nhs_number ? "" : "primary"}
              data-testid="identify-open"
              onClick={() =>
                record.incident &&
                setIdentifying({
                  incident: record.id,
                  scene: { name: record.display_name, incident: record.incident },
                  identified: record.nhs_number !== null,
                })
              }
            >
              {record.nhs_number ? "Correct or withdraw the identification" : "Identify patient"}
            </button>
          )}
          {record.linked.map((linked) => (
            <div key={linked.id} data-testid="linked-record">
              <p>
                {linked.restricted
                  ? "A linked record of this patient is restricted to named clinicians: its entries are not shown here."
                  : linked.incident
                    ? `Shown with this record: incident ${linked.incident.reference}, started ${dateTime(linked.incident.started)} by ${authorName(linked.incident.by, record.authors)}. Its entries keep their authors and times.`
                    : "Shown with this record: another record of this patient."}
              </p>
              {linked.identification && <p>{identificationText(linked.identification, record.authors)}</p>}
              {linked.incident && !linked.restricted && may.amend_record && (
                <button
                  className="small"
                  data-testid="identify-correct"
                  onClick={() =>
                    linked.incident &&
                    setIdentifying({
                      incident: linked.id,
                      scene: { name: linked.incident.temporary_name, incident: linked.incident },
                      identified: true,
                    })
                  }
                >
                  Not this patient? Correct or withdraw the identification
                </button>
              )}
            </div>
          ))}
        </section>
      )}
      {identifying && (
        <IdentifyPatient
          incident={identifying.incident}
          scene={identifying.scene}
          identified={identifying.identified}
          onError={onError}
          onCancel={() => setIdentifying(null)}
          onIdentified={(shown) => {
            setIdentifying(null);
            setSaved("Patient identified: the incident and their record are shown as one.");
            if (shown !== patient) onOpen(shown);
            else void reload();
          }}
          onWithdrawn={() => {
            setIdentifying(null);
            // The incident stands on its own again: show it.
            if (identifying.incident !== patient) onOpen(identifying.incident);
            else void reload();
          }}
        />
      )}
      {record.spo2_scale_review && (
        <p className="scale-review" role="alert" data-testid="scale-review">
          {record.spo2_scale_review.message}
        </p>
      )}
      {record.conflicts.length > 0 && (
        <section className="conflicts" aria-label="Conflicting values" data-testid="conflicts">
          <h2>Conflicting values</h2>
          {record.conflicts.map((conflict) => (
            <ConflictCard
              key={conflict.field}
              field={conflict.field}
              values={conflict.values}
              record={record}
              may={may}
              onResolve={(choice) =>
                void act(
                  () => api.resolveConflict(patient, conflict.field, choice),
                  `Conflict settled: the record and the audit show that you settled it, and when.`,
                )
              }
            />
          ))}
        </section>
      )}
      <div className="actions-row">
        <button
          className="primary big"
          onClick={() => onObserve(record)}
          data-testid="record-observations"
        >
          Record observations
        </button>
        <button onClick={() => setHandingOver(true)} data-testid="handover-open">
          Handover
        </button>
        <button onClick={onClose}>Back to caseload</button>
      </div>
      {handingOver && (
        <HandoverDialog
          patient={patient}
          atTheDoor={record.incident !== null || record.linked.some((linked) => linked.incident !== null)}
          onClose={() => setHandingOver(false)}
          onError={onError}
        />
      )}
      {outcome}

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
              <th>Also recorded</th>
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
                <td data-label="NEWS2">
                  <SetBadge set={o} />
                </td>
                <td data-label="RR">
                  <VitalCell set={o} field="respiration_rate" />
                </td>
                <td data-label="SpO₂">
                  <VitalCell set={o} field="spo2" />
                </td>
                <td data-label="O₂">{o.vitals.on_oxygen === undefined ? "–" : o.vitals.on_oxygen ? "O₂" : "Air"}</td>
                <td data-label="BP">
                  <VitalCell set={o} field="systolic_bp" />
                </td>
                <td data-label="Pulse">
                  <VitalCell set={o} field="pulse" />
                </td>
                <td data-label="ACVPU">{o.vitals.consciousness ?? "–"}</td>
                <td data-label="Temp">
                  <VitalCell set={o} field="temperature" />
                </td>
                <td data-label="Also recorded" data-testid="obs-additional">
                  {o.additional.length === 0
                    ? "–"
                    : o.additional.map((item) => (
                        <span key={item.field} className="additional">
                          {item.label}: {item.text}
                        </span>
                      ))}
                </td>
                <td>
                  {o.entered_in_error ? (
                    <span className="eie">
                      Entered in error: {o.entered_in_error.reason}
                      <small> ({authorName(o.entered_in_error.by, record.authors)})</small>
                    </span>
                  ) : (
                    may.mark_entered_in_error && (
                      <button className="small" onClick={() => setErrorFor(o)}>
                        Entered in error…
                      </button>
                    )
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

      {restrictionSection}
      <section aria-labelledby="scale-title" data-testid="spo2-scale">
        <h2 id="scale-title">SpO₂ scale</h2>
        <p data-testid="scale-in-force">
          Scored on Scale {record.spo2_scale}
          {record.spo2_scale === 2 ? " (target 88–92%), by clinical decision" : ""}.
        </p>
        {may.decide_spo2_scale && (
          <>
            <div className="segmented" role="radiogroup" aria-label="SpO₂ scale decision">
              {([1, 2] as const).map((scale) => (
                <button
                  key={scale}
                  role="radio"
                  aria-checked={scaleChoice === scale}
                  className={scaleChoice === scale ? "chosen" : ""}
                  data-testid={`decide-scale-${scale}`}
                  onClick={() => setScaleChoice(scale)}
                >
                  {scale === 1 ? "Scale 1" : "Scale 2 (hypercapnic respiratory failure, target 88–92%)"}
                </button>
              ))}
            </div>
            <label htmlFor="scale-note">Who decided and why</label>
            <input id="scale-note" value={scaleNote} onChange={(event) => setScaleNote(event.target.value)} />
            <button
              disabled={scaleChoice === null || !scaleNote.trim()}
              data-testid="save-scale"
              onClick={() => {
                const scale = scaleChoice;
                if (scale === null) return;
                void act(async () => {
                  await api.decideScale(patient, scale, scaleNote);
                  setScaleChoice(null);
                  setScaleNote("");
                }, `SpO₂ Scale ${scale} decision saved on this device.`);
              }}
            >
              Save scale decision
            </button>
          </>
        )}
      </section>

      <section aria-labelledby="allergies-title" data-testid="allergies">
        <h2 id="allergies-title">Allergies</h2>
        {record.allergy_status.status === "recorded" && (
          <p>{record.allergies.filter((a) => a.status === "active").length} active, shown in the banner.</p>
        )}
        {record.allergy_status.status === "no-known-allergies" && (
          <p>
            No known allergies: asked and confirmed by {authorName(record.allergy_status.by, record.authors)},{" "}
            {dateTime(record.allergy_status.at)}.
          </p>
        )}
        {record.allergy_status.status === "not-recorded" && (
          <>
            <p>
              <strong>Not recorded.</strong> Nobody has recorded asking this patient about allergies.
            </p>
            {may.amend_record && (
              <button
                data-testid="confirm-nka"
                onClick={() =>
                  void act(() => api.confirmNoKnownAllergies(patient), "Recorded: no known allergies, with your name and the time.")
                }
              >
                Patient asked: no known allergies
              </button>
            )}
          </>
        )}
      </section>

      <section aria-labelledby="maternity-title" data-testid="maternity">
        <h2 id="maternity-title">Pregnancy status</h2>
        <p data-testid="maternity-status">{maternityText(record)}</p>
        <p className="hint">NEWS2 is not used in pregnancy or in the weeks after birth: the maternity early warning chart is.</p>
        {!may.amend_record && <p className="hint">A registered nurse, midwife or paramedic records it.</p>}
        <div className="segmented" role="radiogroup" aria-label="Pregnancy status" hidden={!may.amend_record}>
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
          hidden={!may.amend_record}
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
        {record.medications ? (
          <>
            {record.medications.items.length > 0 ? (
              <ul data-testid="medications">
                {record.medications.items.map((item, i) => (
                  <li key={i} className={item.status && item.status !== "active" ? "not-taken" : undefined}>
                    {item.description}
                  </li>
                ))}
              </ul>
            ) : (
              <p>No current medicines.</p>
            )}
            <p className="hint">
              From {record.medications.source}, {dateTime(record.medications.as_of)}
            </p>
            {record.medications_out_of_date && (
              <p className="out-of-date" data-testid="medications-out-of-date">
                Out of date: this list is more than {record.medicines_review_days} days old. Check what the patient takes
                now.
              </p>
            )}
          </>
        ) : (
          <p className="empty">No medicines list on this record: ask the patient and check the GP record.</p>
        )}
      </section>

      <section aria-labelledby="problems-title">
        <h2 id="problems-title">Problems</h2>
        {record.problems ? (
          <>
            {record.problems.items.length > 0 ? (
              <ul>
                {record.problems.items.map((item, i) => (
                  <li key={i}>{item}</li>
                ))}
              </ul>
            ) : (
              <p>No current problems.</p>
            )}
            <p className="hint">
              From {record.problems.source}, {dateTime(record.problems.as_of)}
            </p>
          </>
        ) : (
          <p className="empty">No problem list on this record.</p>
        )}
      </section>

      <section aria-labelledby="plan-title">
        <h2 id="plan-title">Care plan</h2>
        <label htmlFor="care-plan" className="visually-hidden">
          Care plan
        </label>
        <textarea
          id="care-plan"
          rows={5}
          value={carePlan}
          readOnly={!may.edit_care_plan}
          onChange={(event) => setCarePlan(event.target.value)}
        />
        {record.care_plan_edited && (
          <p className="hint">
            Last edited {dateTime(record.care_plan_edited.at)} by {authorName(record.care_plan_edited.by, record.authors)}
          </p>
        )}
        {carePlanDisputed && (
          <p className="hint" data-testid="care-plan-disputed">
            Two versions of the care plan were saved on devices apart: settle them under "Conflicting values" first.
          </p>
        )}
        <button
          hidden={!may.edit_care_plan}
          disabled={carePlan === record.care_plan || carePlanDisputed}
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
          <div className="eie-set" data-testid="eie-set">
            <p>
              <strong>Taken {dateTime(errorFor.taken_at)}</strong> by {authorName(errorFor.author, record.authors)}
            </p>
            <SetBadge set={errorFor} />
            <p>
              RR {errorFor.vitals.respiration_rate ?? "–"} · SpO₂ {errorFor.vitals.spo2 ?? "–"}
              {errorFor.vitals.on_oxygen === undefined ? "" : errorFor.vitals.on_oxygen ? " on O₂" : " on air"} · BP{" "}
              {errorFor.vitals.systolic_bp ?? "–"} · pulse {errorFor.vitals.pulse ?? "–"} · ACVPU{" "}
              {errorFor.vitals.consciousness ?? "–"} · temp {errorFor.vitals.temperature ?? "–"}
            </p>
          </div>
          <p>This set stays in the record, struck through, with your reason.</p>
        </ReasonDialog>
      )}
    </main>
  );
}
