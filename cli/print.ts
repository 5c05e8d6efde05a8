/**
 * Output formatting, pure: Kubernetes Table objects printed like kubectl, plain column tables,
 * YAML and JSON.
 *
 * @example
 *   process.stdout.write(formatTable(table, { wide: false }));
 */
import type { Table, Cell } from "../actors/api-server/tables.ts";
import { stringify } from "yaml";
import { humanDuration } from "../actors/api-server/human-duration.ts";

export type OutputFormat = "table" | "wide" | "yaml" | "json" | "name";

export function parseOutput(o: string | undefined): OutputFormat {
  if (o === undefined || o === "") return "table";
  if (o === "wide" || o === "yaml" || o === "json" || o === "name") return o;
  throw new Error(`unknown output format "${o}"; one of: wide, yaml, json, name`);
}

/** Columns padded to their widest cell, separated by three spaces (kubectl's tabwriter). */
export function formatColumns(header: string[] | undefined, rows: string[][]): string {
  const all = header ? [header, ...rows] : rows;
  if (all.length === 0) return "";
  const n = Math.max(...all.map((r) => r.length));
  const widths = Array.from({ length: n }, (_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("   ").trimEnd()).join("\n") + "\n";
}

export function cellText(c: Cell): string {
  if (c === null || c === undefined) return "<none>";
  if (Array.isArray(c)) return c.join(",");
  if (typeof c === "object") return JSON.stringify(c);
  return String(c);
}

export interface TableFormat {
  wide?: boolean;
  /** Prepend a NAMESPACE column (from each row's object metadata). */
  withNamespace?: boolean;
  noHeaders?: boolean;
  /** Prefix names with `<resource>/` (kubectl does it when printing several kinds). */
  kindPrefix?: string;
}

/** The visible column indexes of a Table: priority 0 always, priority > 0 only with wide. */
export function visibleColumns(t: Pick<Table, "columnDefinitions">, wide: boolean): number[] {
  return t.columnDefinitions.map((c, i) => ({ c, i })).filter(({ c }) => wide || c.priority === 0).map(({ i }) => i);
}

export function tableRows(t: Table, f: TableFormat, columns = visibleColumns(t, !!f.wide)): string[][] {
  return t.rows.map((r) => {
    const cells = columns.map((i) => cellText(r.cells[i] as Cell));
    if (f.kindPrefix && cells.length) cells[0] = `${f.kindPrefix}/${cells[0]}`;
    return f.withNamespace ? [r.object?.metadata?.namespace ?? "", ...cells] : cells;
  });
}

export function tableHeader(t: Pick<Table, "columnDefinitions">, f: TableFormat, columns = visibleColumns(t, !!f.wide)): string[] {
  const h = columns.map((i) => t.columnDefinitions[i]!.name.toUpperCase());
  return f.withNamespace ? ["NAMESPACE", ...h] : h;
}

export function formatTable(t: Table, f: TableFormat = {}): string {
  if (t.rows.length === 0) return "";
  return formatColumns(f.noHeaders ? undefined : tableHeader(t, f), tableRows(t, f));
}

export function formatYaml(o: unknown): string {
  return stringify(o, { lineWidth: 0 });
}

export function formatJson(o: unknown): string {
  return JSON.stringify(o, null, 4) + "\n";
}

/** A List of objects as kubectl prints it with -o yaml|json (a single object prints bare). */
export function asList(items: unknown[]): { apiVersion: string; kind: string; items: unknown[]; metadata: { resourceVersion: string } } {
  return { apiVersion: "v1", kind: "List", items, metadata: { resourceVersion: "" } };
}


/** The age of a timestamp as kubectl shows it (Kubernetes' HumanDuration). */
export function age(fromIso: string | undefined, now: number): string {
  return fromIso ? humanDuration(now - Date.parse(fromIso)) : "<unknown>";
}
