/**
 * Number, ratio and verdict formatting shared by the table, the chart and the console.
 *
 * @example
 *   formatRatio(ratioOf(fig))   // "0.42×"
 *   verdict(fig)                // "met" | "missed" | "—"
 */
import type { Figure, Reference } from "./types.ts";

/** value / reference (the figure's anchor unless another reference is given); undefined when either is missing or zero. */
export function ratioOf(f: Figure, ref: Reference | undefined = f.anchor): number | undefined {
  if (f.value === undefined || !ref || !Number.isFinite(f.value) || !Number.isFinite(ref.value) || ref.value === 0) return undefined;
  return f.value / ref.value;
}

/** Two significant digits below 10, whole numbers above: "0.042×", "1.5×", "26×", "1,020×". */
export function formatRatio(r: number | undefined): string {
  if (r === undefined || !Number.isFinite(r)) return "—";
  return `${significant(r)}×`;
}

function significant(n: number): string {
  const a = Math.abs(n);
  if (a === 0) return "0";
  if (a >= 10) return Math.round(n).toLocaleString("en-US");
  return String(Number(n.toPrecision(2)));
}

/** A value with its unit: "12.3 ms", "1,250 /s", "480 MB", "4.1 s". */
export function formatValue(v: number | undefined, unit: string): string {
  if (v === undefined || !Number.isFinite(v)) return "—";
  const a = Math.abs(v);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
  const text = Number(v.toFixed(digits)).toLocaleString("en-US", { maximumFractionDigits: digits });
  return unit ? `${text} ${unit}` : text;
}

export const Verdict = { met: "met", missed: "missed", none: "—" } as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** Whether the figure reaches its goal (lower-is-better: value ≤ goal; higher: value ≥ goal). */
export function verdict(f: Figure): Verdict {
  if (f.value === undefined || !f.goal) return Verdict.none;
  // A goal asks for a measurement: an estimate from a run that did not finish meets none.
  if (f.extrapolated) return Verdict.missed;
  const ok = f.better === "lower" ? f.value <= f.goal.value : f.value >= f.goal.value;
  return ok ? Verdict.met : Verdict.missed;
}

/** How the figure stands against its anchor, in words: "2.4× faster", "1.3× slower", "same". */
export function versusAnchor(f: Figure): string {
  const r = ratioOf(f);
  if (r === undefined) return "—";
  const better = f.better === "lower" ? r < 1 : r > 1;
  const factor = r >= 1 ? r : 1 / r;
  if (factor < 1.05) return "about the same";
  return `${formatRatio(factor)} ${better ? "better" : "worse"}`;
}
