// A NEWS2 result as the chart shows it: the number, the band colour and the band word, so colour
// is never the only signal. A partial set shows no total, only the risk it already forces.
import type { News2, Risk } from "../api";
import { riskWord } from "../logic/format";

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

export function News2Response({ news2 }: { news2: News2 }) {
  return (
    <div className={`response risk-${news2.risk ?? news2.minimum_risk ?? "none"}`} data-testid="news2-response">
      <p>
        <strong>Response:</strong> {news2.response}
      </p>
      <p>
        <strong>Monitoring:</strong> {news2.monitoring}
      </p>
    </div>
  );
}
