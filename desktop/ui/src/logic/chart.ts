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

/**
 * Rows of equal height, one per band, lowest values at the bottom, as the paper chart draws them:
 * a band is as easy to read as any other however wide its range. Returns each band's top and
 * bottom in pixels.
 */
export function bandRows(bands: VisibleBand[], height: number): (VisibleBand & { top: number; bottom: number })[] {
  const rowHeight = height / Math.max(1, bands.length);
  return [...bands]
    .sort((a, b) => a.low - b.low)
    .map((band, i) => ({ ...band, bottom: height - i * rowHeight, top: height - (i + 1) * rowHeight }));
}

/** Where `value` sits: in its band's row, proportionally; pinned to the edge when off the chart. */
export function placeValue(bands: VisibleBand[], value: number, height: number): Placed {
  const rows = bandRows(bands, height);
  if (rows.length === 0) return { y: height / 2, clipped: null };
  const lowest = rows[0];
  const highest = rows[rows.length - 1];
  if (value < lowest.low) return { y: height, clipped: "below" };
  if (value > highest.high) return { y: 0, clipped: "above" };
  const row = rows.find((band) => value >= band.low && value <= band.high) ?? highest;
  const fraction = row.high > row.low ? (value - row.low) / (row.high - row.low) : 0.5;
  return { y: row.bottom - fraction * (row.bottom - row.top), clipped: null };
}

/** Evenly spaced columns, oldest on the left, as sets are entered on the paper chart. */
export function columnX(index: number, columns: number, width: number): number {
  if (columns <= 1) return width / 2;
  const step = width / columns;
  return step * index + step / 2;
}
