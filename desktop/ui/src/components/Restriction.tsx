// Records restricted to named clinicians (safeguarding, sexual health, staff as patient). Who may
// see what is decided by the core; these show its decision and offer what it permits: to the rest
// of the team, the banner and emergency access with a reason; to a registered clinician, the
// restriction itself, with the team's clinicians to name.
import { useEffect, useState, type ReactNode } from "react";
import {
  api,
  type Candidate,
  type CommandError,
  type May,
  type PatientRecord,
  type RestrictionReason,
} from "../api";
import { authorName, dateTime } from "../logic/format";
import { ReasonDialog } from "./ReasonDialog";

export const EMERGENCY_MINUTES = 30;

const REASONS: { value: RestrictionReason; label: string }[] = [
  { value: "safeguarding", label: "Safeguarding" },
  { value: "sexual-health", label: "Sexual health" },
  { value: "staff-as-patient", label: "The patient is a member of staff" },
];

/** Shown instead of the record to someone the restriction does not name. */
export function RestrictedNotice({
  record,
  may,
  onEmergency,
  children,
}: {
  record: PatientRecord;
  may: May;
  onEmergency: (reason: string) => void;
  /** What the user may still decide about the restriction, when the core lets them. */
  children?: ReactNode;
}) {
  const [asking, setAsking] = useState(false);
  return (
    <section className="restricted-notice" aria-labelledby="restricted-title" data-testid="restricted-notice">
      <h2 id="restricted-title">Restricted record</h2>
      <p>
        This record is restricted to named clinicians. You can see the banner above: who the patient is, their
        allergies and alerts. Observations, notes and plans are hidden, and so is why: ask your team lead if you need
        to know who can see it.
      </p>
      {may.emergency_access ? (
        <>
          <p>
            If you need the record now to care for the patient, use emergency access. Your reason is recorded and
            reviewed by your organisation; access ends after {EMERGENCY_MINUTES} minutes or when the device locks.
          </p>
          <button className="danger" onClick={() => setAsking(true)} data-testid="emergency-access">
            Emergency access
          </button>
        </>
      ) : (
        <p>If the patient needs care now, ask a registered nurse, midwife or paramedic: they can use emergency access.</p>
      )}
      {children}
      {asking && (
        <ReasonDialog
          id="emergency"
          title="Emergency access"
          confirm="Open with this reason"
          danger
          onCancel={() => setAsking(false)}
          onConfirm={(reason) => {
            setAsking(false);
            onEmergency(reason);
          }}
        >
          <p>
            Opening {record.family.toUpperCase()}, {record.given} is recorded in the audit with your reason and reviewed.
            Access ends after {EMERGENCY_MINUTES} minutes.
          </p>
        </ReasonDialog>
      )}
    </section>
  );
}

/** Who may see this record, and for a registered clinician the means to change it. */
export function RestrictionSection({
  record,
  may,
  onRestrict,
  onLift,
  onError,
}: {
  record: PatientRecord;
  may: May;
  onRestrict: (reason: RestrictionReason, clinicians: Candidate[]) => void;
  onLift: () => void;
  onError: (error: unknown) => CommandError;
}) {
  const [editing, setEditing] = useState(false);
  const [candidates, setCandidates] = useState<Candidate[] | null>(null);
  const [reason, setReason] = useState<RestrictionReason | null>(null);
  const [chosen, setChosen] = useState<Set<number>>(new Set());
  const restriction = record.restriction;
  const access = record.access;
  // The core says who may decide: anyone on an open record, the named, and on a record that two
  // restrictions made apart left naming nobody, anyone either named. Emergency access reads a
  // restricted record; it does not change who may.
  const mayDecide =
    may.restrict_record &&
    (access.access === "open" ||
      access.access === "named" ||
      (access.access === "banner-only" && access.may_decide));
  const restricted = access.access !== "open";

  useEffect(() => {
    if (!editing) return;
    api.restrictionCandidates().then(setCandidates, (failure) => {
      onError(failure);
      setEditing(false);
    });
  }, [editing, onError]);

  const toggle = (index: number) => {
    const next = new Set(chosen);
    if (next.has(index)) next.delete(index);
    else next.add(index);
    setChosen(next);
  };

  return (
    <section aria-labelledby="restriction-title" data-testid="restriction">
      <h2 id="restriction-title">Who can see this record</h2>
      {restriction ? (
        <p data-testid="restriction-status">
          Restricted ({restriction.words}) to{" "}
          {restriction.clinicians.length > 0 ? restriction.clinicians.map((c) => c.name).join(", ") : "nobody"}. Decided
          by {authorName(restriction.by, record.authors)}, {dateTime(restriction.at)}.
          {restriction.disputed && " Devices decided this apart: only clinicians every decision named are named."}
        </p>
      ) : restricted ? (
        <p data-testid="restriction-status">
          Restricted. Two devices restricted it apart and named nobody in common: you were named in one, so decide
          again who can see it.
        </p>
      ) : (
        <p data-testid="restriction-status">Everyone on the team.</p>
      )}
      {mayDecide && !editing && (
        <div className="actions">
          <button onClick={() => setEditing(true)} data-testid="restrict-open">
            {restricted ? "Change who is named" : "Restrict this record"}
          </button>
          {restricted && (
            <button onClick={onLift} data-testid="restriction-lift">
              Lift restriction
            </button>
          )}
        </div>
      )}
      {editing && candidates && (
        <form
          className="restrict-form"
          onSubmit={(event) => {
            event.preventDefault();
            if (!reason) return;
            onRestrict(
              reason,
              candidates.filter((_, index) => chosen.has(index)),
            );
            setEditing(false);
          }}
        >
          <fieldset>
            <legend>Why</legend>
            {REASONS.map((option) => (
              <label key={option.value} className="choice">
                <input
                  type="radio"
                  name="restriction-reason"
                  value={option.value}
                  checked={reason === option.value}
                  onChange={() => setReason(option.value)}
                />
                {option.label}
              </label>
            ))}
          </fieldset>
          <fieldset>
            <legend>Named clinicians (the rest of the team sees the banner only)</legend>
            {candidates.map((candidate, index) => (
              <label key={`${candidate.device}/${candidate.name}`} className="choice">
                <input
                  type="checkbox"
                  checked={candidate.you || chosen.has(index)}
                  disabled={candidate.you}
                  onChange={() => toggle(index)}
                  data-testid="restrict-candidate"
                />
                {candidate.name} ({candidate.role.replace(/-/g, " ")}
                {candidates.filter((other) => other.name === candidate.name).length > 1 &&
                  `, device ${candidate.device.slice(0, 8)}`}
                ){candidate.you && ", you"}
              </label>
            ))}
          </fieldset>
          <div className="actions">
            <button type="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
            <button type="submit" className="primary" disabled={!reason} data-testid="restrict-save">
              Restrict
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
