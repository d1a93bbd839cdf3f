// The caseload: everyone on the device with their latest NEWS2 (number, band colour and word),
// when it was taken and the alerts that matter; search by name or NHS number; most urgent first
// on request. A record restricted to named clinicians shows others its banner only: no score, no
// due time; emergency access is offered on its record screen, not here.
import { useEffect, useState } from "react";
import { api, type CommandError, type May, type Summary } from "../api";
import { FhirImport } from "../components/FhirImport";
import { LatestScore } from "../components/News2Badge";
import { FLAG_LABELS, dueText, identityLine } from "../logic/format";

/** Due, overdue or never observed: shown on every row, whatever its score. */
function DueChip({ row, now }: { row: Summary; now: Date }) {
  if (row.access.access === "banner-only") return null;
  if (!row.last_observed) {
    return (
      <span className="chip chip-unknown" data-testid="never-observed">
        Never observed
      </span>
    );
  }
  const text = dueText(row.next_due, row.continuous, now);
  if (!text) return null;
  return (
    <span className={`chip ${row.overdue ? "chip-overdue" : "chip-due"}`} data-testid={row.overdue ? "overdue" : "due"}>
      {text}
    </span>
  );
}

export function Caseload({
  may,
  onOpen,
  onIncidents,
  onError,
}: {
  may: May;
  onOpen: (patient: string) => void;
  /** The incident list; `startNew`: with the "New incident" form open. */
  onIncidents: (startNew: boolean) => void;
  onError: (error: unknown) => CommandError;
}) {
  const [query, setQuery] = useState("");
  const [byRisk, setByRisk] = useState(true);
  const [rows, setRows] = useState<Summary[] | null>(null);
  // Bumped when a sync run ends, so what it brought in shows without a tap.
  const [synced, setSynced] = useState(0);

  // Due turns to overdue while the list is open: ask the core again every minute.
  useEffect(() => {
    const timer = window.setInterval(() => setSynced((n) => n + 1), 60_000);
    return () => window.clearInterval(timer);
  }, []);

  useEffect(() => {
    const unlisten = api.onSyncStatus((status) => {
      if (status.activity.phase === "idle" && !status.error_code) setSynced((n) => n + 1);
    });
    return () => {
      void unlisten.then((stop) => stop());
    };
  }, []);
  const now = new Date();

  useEffect(() => {
    if (!may.read_records) return;
    let live = true;
    const timer = window.setTimeout(() => {
      api
        .caseload(query, byRisk)
        .then((found) => live && setRows(found))
        .catch(onError);
    }, query ? 150 : 0);
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [query, byRisk, synced, onError, may.read_records]);

  // The organisation's integration service brings records in for the team and sees none of them.
  if (!may.read_records) {
    return (
      <main className="page caseload">
        <p className="empty" data-testid="import-only">
          This user imports records for the team from the GP record and the shared care record. It cannot see them.
        </p>
        {may.import_records && <FhirImport onImported={() => setSynced((n) => n + 1)} onError={onError} />}
      </main>
    );
  }

  return (
    <main className="page caseload">
      <div className="toolbar">
        <label htmlFor="search" className="visually-hidden">
          Search by name or NHS number
        </label>
        <input
          id="search"
          type="search"
          placeholder="Search by name or NHS number"
          value={query}
          onChange={(event) => setQuery(event.target.value)}
        />
        <div className="segmented" role="radiogroup" aria-label="Order">
          <button role="radio" aria-checked={byRisk} className={byRisk ? "chosen" : ""} onClick={() => setByRisk(true)}>
            Most urgent first
          </button>
          <button role="radio" aria-checked={!byRisk} className={!byRisk ? "chosen" : ""} onClick={() => setByRisk(false)}>
            By name
          </button>
        </div>
        {may.start_incident && (
          <button data-testid="new-incident-quick" onClick={() => onIncidents(true)}>
            New incident
          </button>
        )}
        <button data-testid="incidents-open" onClick={() => onIncidents(false)}>
          Incidents
        </button>
        {may.import_records && <FhirImport onImported={() => setSynced((n) => n + 1)} onError={onError} />}
      </div>
      {rows === null ? null : rows.length === 0 ? (
        <p className="empty">{query ? "No patient on this device matches." : "No patients on this device yet."}</p>
      ) : (
        <ul className="patients" aria-label={`${rows.length} patients`} data-testid="caseload">
          {rows.map((row) => (
            <li key={row.id} className="patient-row" data-testid="patient-row">
              <button className="patient-open" onClick={() => onOpen(row.id)}>
                <span className="patient-name">
                  {row.display_name}
                  {row.incident && (
                    <span className="chip chip-incident" data-testid="incident-chip">
                      Incident {row.incident.reference}
                    </span>
                  )}
                  {row.similar_name && (
                    <span className="chip chip-similar" data-testid="similar-name">
                      Similar name
                    </span>
                  )}
                </span>
                <span className="patient-meta">{identityLine(row, now)}</span>
                <span className="patient-alerts">
                  {row.allergies.length > 0 && <span className="chip chip-allergy">Allergy: {row.allergies.join(", ")}</span>}
                  {row.flags.map((flag) => (
                    <span key={flag} className={`chip chip-${flag}`}>
                      {FLAG_LABELS[flag]}
                    </span>
                  ))}
                  {row.conflicts && <span className="chip chip-conflict">Conflicting values</span>}
                </span>
              </button>
              <span className="patient-news2">
                <LatestScore row={row} now={now} />
                {row.latest_news2?.partial &&
                  !row.news2_not_applicable &&
                  row.rank_risk !== "unknown" &&
                  row.rank_risk !== "low" && (
                    <span className={`chip chip-ranked risk-${row.rank_risk}`} data-testid="ranked-by">
                      Ranked {row.rank_risk.toUpperCase()}: an earlier set in the last 24 h
                    </span>
                  )}
                <DueChip row={row} now={now} />
                {byRisk && row.rank_risk === "unknown" && row.last_observed && (
                  <small className="rank-unknown" data-testid="rank-unknown">
                    Risk unknown: no recent complete set
                  </small>
                )}
              </span>
            </li>
          ))}
        </ul>
      )}
    </main>
  );
}
