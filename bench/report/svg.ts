/**
 * A hand-drawn SVG bar chart (no external service): one bar per figure that has an anchor or a
 * goal, its length the ratio Flotilla ÷ reference on a log axis centred on 1×; green when the goal
 * is met, red when missed, grey without a goal.
 *
 * @example
 *   writeFileSync("bench/results/2026-11-24.svg", renderSvg(results));
 */
import type { BenchResults, Figure } from "./types.ts";
import { formatRatio, formatValue, ratioOf, verdict } from "./format.ts";

const ROW = 22;
const LABEL_W = 380;
const PLOT_W = 420;
const TEXT_W = 380;
const TOP = 56;
const DECADES = 2; // 0.01× … 100×
const COLOURS = { met: "#2e9d4f", missed: "#d0453b", "—": "#8a8f98" } as const;

const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Position of a ratio on the plot (0 … PLOT_W), clamped to the axis. */
export function ratioX(r: number): number {
  const l = Math.max(-DECADES, Math.min(DECADES, Math.log10(r)));
  return ((l + DECADES) / (2 * DECADES)) * PLOT_W;
}

export function chartRows(results: BenchResults): { f: Figure; ratio?: number; refLabel: string }[] {
  const rows: { f: Figure; ratio?: number; refLabel: string }[] = [];
  for (const b of results.benches)
    for (const f of b.figures) {
      const ref = f.anchor ?? f.goal;
      if (!ref) continue;
      rows.push({ f, ratio: ratioOf(f, ref), refLabel: ref.label });
    }
  return rows;
}

export function renderSvg(results: BenchResults): string {
  const rows = chartRows(results);
  const width = LABEL_W + PLOT_W + TEXT_W;
  const height = TOP + rows.length * ROW + 30;
  const x0 = LABEL_W;
  const centre = x0 + ratioX(1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${xml(`Flotilla ÷ anchor (or goal) — ${results.startedAt.slice(0, 10)}, ${results.mode} run`)}</text>`,
    `<text x="10" y="38" fill="#555">${xml("log scale; ↓ lower is better, ↑ higher is better; green: goal met, red: goal missed, grey: no goal")}</text>`,
  ];
  for (let d = -DECADES; d <= DECADES; d++) {
    const x = x0 + ratioX(10 ** d);
    out.push(`<line x1="${x}" y1="${TOP - 6}" x2="${x}" y2="${TOP + rows.length * ROW}" stroke="${d === 0 ? "#333" : "#ddd"}"/>`);
    out.push(`<text x="${x}" y="${TOP + rows.length * ROW + 16}" text-anchor="middle" fill="#555">${formatRatio(10 ** d)}</text>`);
  }
  rows.forEach(({ f, ratio, refLabel }, i) => {
    const y = TOP + i * ROW;
    const arrow = f.better === "lower" ? "↓" : "↑";
    out.push(`<text x="${LABEL_W - 8}" y="${y + 15}" text-anchor="end">${xml(`${f.section}: ${f.label} ${arrow}`)}</text>`);
    if (ratio === undefined) {
      out.push(`<text x="${centre + 6}" y="${y + 15}" fill="#8a8f98">not measured</text>`);
      return;
    }
    const x = x0 + ratioX(ratio);
    const left = Math.min(x, centre);
    const w = Math.max(1, Math.abs(x - centre));
    out.push(`<rect x="${left.toFixed(1)}" y="${y + 4}" width="${w.toFixed(1)}" height="${ROW - 8}" fill="${COLOURS[verdict(f)]}"/>`);
    const text = `${formatRatio(ratio)} of ${refLabel} (${formatValue(f.value, f.unit)})`;
    out.push(`<text x="${x0 + PLOT_W + 8}" y="${y + 15}">${xml(text)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
