// A NEWS2 result as the chart shows it: the number, the band colour and the band word, so colour
// is never the only signal. A partial set shows no total, only the risk it already forces.
import type { NotApplicable, NotApplicableReason, Risk, SetView, Summary } from "../api";
import { ago, dueText, notApplicableWord, riskWord } from "../logic/format";

export function News2Badge({
  total,
  risk,
  partial,
  size = "normal",
}: {
  total: number | null;
  risk: Risk | null;
  partial: boolean;
  size?: "normal" | "large";
}) {
  const label = partial
    ? `Incomplete set${risk ? `, at least ${riskWord(risk)} risk` : ""}`
    : `NEWS2 ${total}, ${riskWord(risk)} risk`;
  return (
    <span className={`badge risk-${risk ?? "none"} ${size}`} aria-label={label} data-testid="news2-badge">
      <span className="badge-number">{partial ? "?" : total}</span>
      <span className="badge-word">{partial ? `INCOMPLETE${risk ? ` ≥ ${riskWord(risk)}` : ""}` : riskWord(risk)}</span>
    </span>
  );
}

/** Where NEWS2 does not apply: no number, no band, no response; the chart to use instead. */
export function NotApplicableBadge({ reason, size = "normal" }: { reason: NotApplicableReason; size?: "normal" | "large" }) {
  return (
    <span className={`badge not-applicable ${size}`} aria-label={`NEWS2 not used. ${notApplicableWord(reason)}`} data-testid="news2-not-applicable">
      <span className="badge-number">–</span>
      <span className="badge-word">NEWS2 NOT USED · {notApplicableWord(reason)}</span>
    </span>
  );
}

/** A set's badge, whatever the core made of it. */
export function SetBadge({ set, size = "normal" }: { set: SetView; size?: "normal" | "large" }) {
  if (set.beside_only) {
    return (
      <span className={`badge not-applicable ${size}`} aria-label="No vital signs: observations beside NEWS2 only" data-testid="beside-only">
        <span className="badge-number">–</span>
        <span className="badge-word">BESIDE NEWS2 ONLY</span>
      </span>
    );
  }
  if (!set.news2) {
    return set.not_applicable ? <NotApplicableBadge reason={set.not_applicable.reason} size={size} /> : null;
  }
  const news2 = set.news2;
  return <News2Badge total={news2.total} risk={news2.partial ? news2.minimum_risk : news2.risk} partial={news2.partial} size={size} />;
}

export function NotApplicableNotice({ notApplicable }: { notApplicable: NotApplicable }) {
  return (
    <p className="not-applicable-notice" role="note" data-testid="not-applicable-notice">
      <strong>NEWS2 is not used for this patient.</strong> {notApplicable.message}.
    </p>
  );
}

/**
 * The response a set demands, in the words of the protocol it was scored under, with the ceiling
 * of care beside it (the response follows a DNACPR or ReSPECT plan) and when the next set is due.
 */
export function News2Response({ set, takenAt }: { set: SetView; takenAt?: string }) {
  if (!set.news2 || !set.response) {
    return set.not_applicable ? <NotApplicableNotice notApplicable={set.not_applicable} /> : null;
  }
  const due = dueText(set.next_due, takenAt !== undefined && set.next_due === takenAt, new Date());
  return (
    <div className={`response risk-${set.news2.risk ?? set.news2.minimum_risk ?? "none"}`} data-testid="news2-response">
      <p>
        <strong>Response:</strong> {set.response.text}
      </p>
      <p>
        <strong>Monitoring:</strong> {set.response.monitoring}
        {due && <> · {due}</>}
      </p>
      {set.response.ceiling_of_care.length > 0 && (
        <div className="ceiling" data-testid="ceiling-of-care">
          <strong>Ceiling of care: follow the patient's plan</strong>
          <ul>
            {set.response.ceiling_of_care.map((entry) => (
              <li key={entry}>{entry}</li>
            ))}
          </ul>
        </div>
      )}
      <p className="protocol-name">
        <small>
          Wording: {set.response.protocol} v{set.response.version} ({set.response.setting})
          {!set.response.stored &&
            (set.scored_on_reading
              ? ". Scored when the record was read: its birth date or pregnancy status changed since the set was saved."
              : ". These are the current protocol's words: this set was saved before the words shown were kept.")}
        </small>
      </p>
    </div>
  );
}

/** A list row's latest score: nothing of a record restricted to others; where NEWS2 does not apply
 *  today or did not apply to the set, the reason and no number; else the badge, with how long ago. */
export function LatestScore({ row, now }: { row: Summary; now: Date }) {
  if (row.access.access === "banner-only") {
    return (
      <span className="chip chip-restricted" data-testid="restricted">
        Restricted record
      </span>
    );
  }
  const latest = row.latest_news2;
  const when = latest && <small>{ago(latest.taken_at, now)}</small>;
  if (row.news2_not_applicable) {
    return (
      <>
        <NotApplicableBadge reason={row.news2_not_applicable.reason} />
        {when}
      </>
    );
  }
  if (!latest) return <small>No observations</small>;
  return (
    <>
      {latest.not_applicable ? (
        <NotApplicableBadge reason={latest.not_applicable} />
      ) : (
        <News2Badge
          total={latest.total}
          risk={latest.partial ? latest.effective_risk : latest.risk}
          partial={latest.partial}
        />
      )}
      {when}
    </>
  );
}
