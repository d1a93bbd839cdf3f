// The observation chart, laid out like the paper NEWS2 chart: one row per parameter, time running
// left to right, each value plotted against the core's coloured bands. The bands also carry their
// score as a number and a hatch pattern, and the aggregate row prints number and band word, so
// the chart reads without colour.
import { useEffect, useState } from "react";
import { api, type CommandError, type EscalationEntry, type Observation, type ParameterBands } from "../api";
import { serviceLabel } from "./EscalationDialog";
import { bandRows, columnX, placeValue, visibleBands } from "../logic/chart";
import { dateTime, riskWord } from "../logic/format";

const ROW_HEIGHT = 110;
const LABEL_WIDTH = 150;
const SCALE_WIDTH = 84;
/** On a phone the labels and scale narrow, and the chart shows as many of the latest sets as fit. */
const NARROW_LABEL_WIDTH = 100;
const NARROW_SCALE_WIDTH = 64;
const NARROW_BELOW = 600;

/** The window's width, kept current as the device turns. */
function useWindowWidth(): number {
  const [width, setWidth] = useState(window.innerWidth);
  useEffect(() => {
    const resized = () => setWidth(window.innerWidth);
    window.addEventListener("resize", resized);
    return () => window.removeEventListener("resize", resized);
  }, []);
  return width;
}

/** "≤8", "12–20", "≥25", as printed on the paper chart's bands. */
function bandLabel(low: number, high: number, parameter: string, lowest: boolean, highest: boolean): string {
  const step = parameter === "temperature" ? 0.1 : 1;
  const digits = parameter === "temperature" ? 1 : 0;
  const from = (low + step / 2).toFixed(digits);
  const to = (high - step / 2).toFixed(digits);
  if (lowest) return `≤${to}`;
  if (highest) return `≥${from}`;
  return from === to ? from : `${from}–${to}`;
}
const COLUMN_WIDTH = 74;

const MAX_COLUMNS = 10;

const LABELS: Record<string, string> = {
  respiration_rate: "Resp. rate /min",
  spo2: "SpO₂ %",
  systolic_bp: "Systolic BP mmHg",
  pulse: "Pulse /min",
  temperature: "Temp °C",
};

function Patterns() {
  return (
    <defs>
      <pattern id="score-3" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
        <rect width="6" height="6" className="band-3" />
        <line x1="0" y1="0" x2="0" y2="6" className="hatch" />
      </pattern>
      <pattern id="score-2" width="10" height="10" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
        <rect width="10" height="10" className="band-2" />
        <line x1="0" y1="0" x2="0" y2="10" className="hatch" />
      </pattern>
      <pattern id="score-1" width="8" height="8" patternUnits="userSpaceOnUse">
        <rect width="8" height="8" className="band-1" />
        <circle cx="4" cy="4" r="0.9" className="dot" />
      </pattern>
    </defs>
  );
}

export function ObsChart({
  observations,
  escalations = [],
  scale,
  news2Applies = true,
  onError,
}: {
  observations: Observation[];
  /** Shown under the set that prompted each, or the last set before it. */
  escalations?: EscalationEntry[];
  scale: number;
  /** False where NEWS2 is not used for the patient: no NEWS2 bands or scores are drawn. */
  news2Applies?: boolean;
  onError: (error: unknown) => CommandError;
}) {
  const [bands, setBands] = useState<ParameterBands[] | null>(null);
  useEffect(() => {
    api.chartBands(scale).then(setBands).catch(onError);
  }, [scale, onError]);

  const windowWidth = useWindowWidth();
  const narrow = windowWidth < NARROW_BELOW;
  const labelWidth = narrow ? NARROW_LABEL_WIDTH : LABEL_WIDTH;
  const scaleWidth = narrow ? NARROW_SCALE_WIDTH : SCALE_WIDTH;
  // The page's side padding (2 × 16 px) is not the chart's.
  const fit = Math.max(2, Math.floor((windowWidth - 32 - labelWidth - scaleWidth) / COLUMN_WIDTH));
  const columns = Math.min(MAX_COLUMNS, fit);
  const current = observations
    .filter((o) => !o.entered_in_error)
    .sort((a, b) => a.taken_at.localeCompare(b.taken_at));
  const shown = current.slice(-columns);
  if (!bands) return <div className="chart" aria-busy="true" />;
  if (shown.length === 0) return <p className="empty">No observations yet.</p>;

  const minimumColumns = Math.min(4, columns);
  const plotWidth = Math.max(shown.length, minimumColumns) * COLUMN_WIDTH;
  const width = labelWidth + plotWidth + scaleWidth;
  const headerHeight = 40;
  // Observations beside NEWS2, one row per field any shown set has, in the core's words: never
  // scored, so no bands.
  const additionalRows: [string, (o: Observation) => string][] = [];
  for (const o of shown) {
    for (const item of o.additional) {
      if (!additionalRows.some(([label]) => label === item.label)) {
        additionalRows.push([item.label, (set) => set.additional.find((other) => other.label === item.label)?.short ?? ""]);
      }
    }
  }
  const textRows = 4 + additionalRows.length; // air/oxygen, consciousness, NEWS2 total, escalations, then those
  /** The column an escalation belongs to: its set, else the last shown set taken before it. */
  const columnOf = (entry: EscalationEntry) => {
    const named = shown.findIndex((o) => o.id === entry.observation);
    if (named >= 0) return named;
    let column = -1;
    shown.forEach((o, i) => {
      if (o.taken_at <= entry.at) column = i;
    });
    return column;
  };
  const height = headerHeight + bands.length * ROW_HEIGHT + textRows * 34;
  const x = (i: number) => labelWidth + columnX(i, Math.max(shown.length, minimumColumns), plotWidth);

  return (
    // Focusable: with many sets the chart scrolls sideways, and a keyboard must reach it too.
    <figure className="chart" data-testid="obs-chart" tabIndex={0} aria-label="Observation chart">
      <svg width={width} height={height} role="img" aria-label={`Observation chart, ${shown.length} sets`}>
        <Patterns />
        {shown.map((o, i) => (
          <text key={o.id} x={x(i)} y={16} className="col-head" textAnchor="middle">
            {dateTime(o.taken_at).split(" ").slice(0, 2).join(" ")}
            <tspan x={x(i)} dy="14">
              {dateTime(o.taken_at).split(" ")[2]}
            </tspan>
          </text>
        ))}
        {bands.map((parameter, row) => {
          const top = headerHeight + row * ROW_HEIGHT;
          const values = shown
            .map((o, i) => ({ i, value: o.vitals[parameter.parameter as keyof typeof o.vitals] }))
            .filter((p): p is { i: number; value: number } => typeof p.value === "number");
          const visible = visibleBands(parameter.parameter, parameter.bands);
          const placed = values.map((p) => ({ ...p, at: placeValue(visible, p.value, ROW_HEIGHT) }));
          return (
            <g key={parameter.parameter} data-parameter={parameter.parameter}>
              {bandRows(visible, ROW_HEIGHT).map((band, index, rows) => {
                const y1 = top + band.top;
                const y2 = top + band.bottom;
                return (
                  <g key={`${band.low}-${band.high}`}>
                    <rect
                      x={labelWidth}
                      y={y1}
                      width={plotWidth}
                      height={y2 - y1}
                      fill={band.score === 0 || !news2Applies ? "white" : `url(#score-${band.score})`}
                      className="band"
                    />
                    {news2Applies && (
                      <text x={width - 4} y={(y1 + y2) / 2 + 4} className="band-score" textAnchor="end">
                        {bandLabel(band.low, band.high, parameter.parameter, index === 0, index === rows.length - 1)} · {band.score}
                      </text>
                    )}
                  </g>
                );
              })}
              <rect x={labelWidth} y={top} width={plotWidth} height={ROW_HEIGHT} className="row-frame" />
              <text x={8} y={top + ROW_HEIGHT / 2} className="row-label">
                {LABELS[parameter.parameter]}
              </text>
              <polyline
                points={placed.map((p) => `${x(p.i)},${top + p.at.y}`).join(" ")}
                className="trend"
              />
              {placed.map((p) => (
                <g key={p.i} className="point" data-testid={`point-${parameter.parameter}`}>
                  <circle cx={x(p.i)} cy={top + p.at.y} r={5} />
                  <text x={x(p.i) + 8} y={top + p.at.y - 6} className="point-value">
                    {p.value}
                    {p.at.clipped === "above" ? "↑" : p.at.clipped === "below" ? "↓" : ""}
                  </text>
                </g>
              ))}
            </g>
          );
        })}
        {(() => {
          const top = headerHeight + bands.length * ROW_HEIGHT;
          const rows: [string, (o: Observation) => string][] = [
            ["Air / oxygen", (o) => (o.vitals.on_oxygen === undefined ? "–" : o.vitals.on_oxygen ? "O₂" : "Air")],
            ["ACVPU", (o) => o.vitals.consciousness ?? "–"],
            [
              "NEWS2 total",
              (o) =>
                o.beside_only
                  ? "–"
                  : !o.news2
                    ? "NOT USED"
                    : o.news2.partial
                      ? "INCOMPLETE"
                      : `${o.news2.total} ${riskWord(o.news2.risk)}`,
            ],
            [
              "Escalated",
              (o) =>
                escalations
                  .filter((entry) => columnOf(entry) === shown.indexOf(o))
                  .map((entry) => `⚑ ${serviceLabel(entry.service)}`)
                  .join(" "),
            ],
            ...additionalRows,
          ];
          return rows.map(([label, read], r) => (
            <g key={label}>
              <rect x={labelWidth} y={top + r * 34} width={plotWidth} height={34} className="row-frame" />
              <text x={8} y={top + r * 34 + 22} className="row-label">
                {label}
              </text>
              {shown.map((o, i) => (
                <text
                  key={o.id}
                  x={x(i)}
                  y={top + r * 34 + 22}
                  textAnchor="middle"
                  className={r === 2 ? `total risk-text-${o.news2?.risk ?? "none"}` : "cell"}
                  data-testid={r === 2 ? "chart-total" : r === 3 ? "chart-escalation" : r > 3 ? "chart-additional" : undefined}
                >
                  {read(o)}
                </text>
              ))}
            </g>
          ));
        })()}
      </svg>
      {!news2Applies ? (
        <figcaption data-testid="chart-no-bands">NEWS2 bands are not shown: NEWS2 is not used for this patient.</figcaption>
      ) : (
        bands.find((b) => b.note) && <figcaption>{bands.find((b) => b.note)?.note}</figcaption>
      )}
      {shown.length < Math.min(current.length, MAX_COLUMNS) && (
        <figcaption data-testid="chart-latest">
          The latest {shown.length} of {current.length} sets: turn the device or use a wider screen to see more.
        </figcaption>
      )}
    </figure>
  );
}
