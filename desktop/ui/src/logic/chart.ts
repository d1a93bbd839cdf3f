// Geometry of the observation chart: what range of each parameter is drawn (as on the paper
// chart), where a value sits, and which parts of the core's bands are visible.
import type { Band } from "../api";

/** The range drawn for each parameter; values beyond it are pinned to the edge and marked. */
export const DISPLAY_RANGE: Record<string, [number, number]> = {
  respiration_rate: [4, 40],
  spo2: [80, 100],
  systolic_bp: [60, 240],
  pulse: [30, 170],
  temperature: [34, 40.5],
};

/** Half the chart's precision: a band "12–20" covers 11.5 to 20.5 on the axis. */
export function halfStep(parameter: string): number {
  return parameter === "temperature" ? 0.05 : 0.5;
}

export type VisibleBand = { low: number; high: number; score: number };

export function visibleBands(parameter: string, bands: Band[]): VisibleBand[] {
  const [min, max] = DISPLAY_RANGE[parameter];
  const half = halfStep(parameter);
  return bands
    .map((band) => ({
      low: Math.max(min, band.from - half),
      high: Math.min(max, band.to + half),
      score: band.score,
    }))
    .filter((band) => band.high > band.low);
}

export type Placed = { y: number; clipped: "below" | "above" | null };

/** Where `value` sits on an axis of `height` pixels (top is the range's maximum). */
export function placeValue(parameter: string, value: number, height: number): Placed {
  const [min, max] = DISPLAY_RANGE[parameter];
  const clipped = value < min ? "below" : value > max ? "above" : null;
  const bounded = Math.min(max, Math.max(min, value));
  return { y: ((max - bounded) / (max - min)) * height, clipped };
}

/** Evenly spaced columns, oldest on the left, as sets are entered on the paper chart. */
export function columnX(index: number, columns: number, width: number): number {
  if (columns <= 1) return width / 2;
  const step = width / columns;
  return step * index + step / 2;
}
