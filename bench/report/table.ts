/**
 * The markdown report: one table, a section row per benchmark group, each figure beside its
 * anchor and our goal, plus the skipped and failed benchmarks.
 *
 * @example
 *   writeFileSync("bench/results/2026-11-24.md", renderMarkdown(results));
 */
import type { BenchResults, Figure } from "./types.ts";
import { formatRatio, formatValue, ratioOf, verdict, versusAnchor } from "./format.ts";

const esc = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

function refCell(f: Figure, which: "anchor" | "goal"): string {
  const r = f[which];
  if (!r) return "—";
  if (which === "goal") return `${formatValue(r.value, f.unit)} (${esc(r.label)})`;
  return `${formatValue(r.value, f.unit)} (${esc(r.label)}; ${r.published ? `published: ${esc(r.published)}` : "measured in this run"})`;
}

function valueCell(f: Figure): string {
  if (f.value === undefined) return "not measured";
  return f.extrapolated ? `~${formatValue(f.value, f.unit)} (extrapolated, not measured)` : `**${formatValue(f.value, f.unit)}**`;
}

export function figureRow(f: Figure): string {
  const better = f.better === "lower" ? "↓" : "↑";
  const cells = [
    `${esc(f.label)} ${better}`,
    valueCell(f),
    refCell(f, "anchor"),
    f.anchor?.published ? "—" : formatRatio(ratioOf(f)),
    f.anchor?.published ? formatRatio(ratioOf(f)) : "—",
    versusAnchor(f),
    refCell(f, "goal"),
    verdict(f),
    esc(f.note ?? ""),
  ];
  return `| ${cells.join(" | ")} |`;
}

/** The table alone (what docs/performance.md embeds). */
export function renderTable(results: BenchResults): string {
  const lines = [
    "| Figure | Flotilla | Anchor | Ratio, same run | Ratio to a published figure | vs anchor | Goal | Goal | Notes |",
    "| --- | ---: | --- | ---: | ---: | --- | --- | :---: | --- |",
  ];
  const sections = new Map<string, Figure[]>();
  for (const b of results.benches) for (const f of b.figures) sections.set(f.section, [...(sections.get(f.section) ?? []), f]);
  for (const [section, figs] of sections) {
    lines.push(`| **${esc(section)}** | | | | | | | | |`);
    for (const f of figs) lines.push(figureRow(f));
  }
  const failed = results.benches.filter((b) => !b.ok);
  const out = [lines.join("\n")];
  if (failed.length) out.push(failed.map((b) => `- \`${b.name}\` did not finish: ${esc(b.error ?? "unknown error")}`).join("\n"));
  out.push(
    `Run: ${results.mode} mode, ${results.startedAt}, ${Math.round(results.seconds)} s in all; ` +
      `${results.host.cpus} × ${esc(results.host.cpuModel)}, ${results.host.memoryGb} GB RAM, Node ${results.host.node}. ` +
      "↓ lower is better, ↑ higher is better; Ratio = Flotilla ÷ anchor: same-run ratios (both measured in this run) apart from ratios to published figures (each source named).",
  );
  return out.join("\n\n");
}

/** The whole report file: a title, the table, and each benchmark's wall time. */
export function renderMarkdown(results: BenchResults): string {
  const timing = results.benches.map((b) => `| ${b.name} | ${b.ok ? "ok" : "failed"} | ${b.seconds.toFixed(1)} s | ${b.maxRssMb ?? "—"} MB |`);
  return [
    `# Flotilla benchmarks — ${results.startedAt.slice(0, 10)} (${results.mode})`,
    renderTable(results),
    "## Benchmarks run",
    ["| benchmark | result | wall time | peak RSS of the benchmark process |", "| --- | --- | ---: | ---: |", ...timing].join("\n"),
    "",
  ].join("\n\n");
}

export const TABLE_BEGIN = "<!-- bench:table:begin -->";
export const TABLE_END = "<!-- bench:table:end -->";

/** Replaces what lies between the markers (appending both markers and the table when absent). */
export function replaceTable(doc: string, table: string): string {
  const block = `${TABLE_BEGIN}\n${table}\n${TABLE_END}`;
  const a = doc.indexOf(TABLE_BEGIN);
  const b = doc.indexOf(TABLE_END);
  if (a === -1 || b === -1 || b < a) return `${doc.replace(/\s*$/, "")}\n\n${block}\n`;
  return doc.slice(0, a) + block + doc.slice(b + TABLE_END.length);
}
