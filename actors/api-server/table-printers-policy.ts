/**
 * Table printers for the kinds this file's neighbours do not cover: CustomResourceDefinitions,
 * ResourceQuotas, LimitRanges and PodDisruptionBudgets (as kube-apiserver prints them), and the
 * printer a custom type's additionalPrinterColumns make.
 */
import type { KubeObject } from "../../bus/resources.ts";
import type { ResourceType } from "../../bus/kinds.ts";
import type { Printer, Cell, TableColumnDefinition } from "./table-kit.ts";
import type { PodDisruptionBudget } from "../../bus/disruption.ts";
import { col, NAME, AGE, age } from "./table-kit.ts";
import { ageOf } from "./human-duration.ts";

const intOrStr = (v: unknown) => (v === undefined || v === null ? "N/A" : String(v));

/** `cpu: 100m/1, pods: 1/10` over the sorted keys of hard, split into requests and limits as kubectl shows them. */
function quotaCells(o: KubeObject): [string, string] {
  const hard = ((o.status as { hard?: Record<string, string> } | undefined)?.hard ?? (o.spec as { hard?: Record<string, string> } | undefined)?.hard ?? {}) as Record<string, string>;
  const used = (o.status as { used?: Record<string, string> } | undefined)?.used ?? {};
  const req: string[] = [];
  const lim: string[] = [];
  for (const k of Object.keys(hard).sort()) {
    const text = `${k}: ${used[k] ?? "0"}/${hard[k]}`;
    if (k.startsWith("limits.")) lim.push(text);
    else req.push(text);
  }
  return [req.join(", "), lim.join(", ")];
}

export const POLICY_PRINTERS: Record<string, Printer> = {
  customresourcedefinitions: {
    columns: [NAME, col("Created At", "The time the resource was created.", { type: "date" })],
    cells: (o) => [o.metadata.name ?? "", o.metadata.creationTimestamp ?? ""],
  },
  resourcequotas: {
    columns: [NAME, AGE, col("Request", "Request represents a minimum amount of cpu/memory that a container may consume."), col("Limit", "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.")],
    cells: (o, now) => [o.metadata.name ?? "", age(o, now), ...quotaCells(o)],
  },
  limitranges: {
    columns: [NAME, col("Created At", "The time the resource was created.", { type: "date" })],
    cells: (o) => [o.metadata.name ?? "", o.metadata.creationTimestamp ?? ""],
  },
  poddisruptionbudgets: {
    columns: [
      NAME,
      col("Min Available", "The minimum number of pods that must be available."),
      col("Max Unavailable", "The maximum number of pods that may be unavailable."),
      col("Allowed Disruptions", "Calculated number of pods that may be disrupted at this time.", { type: "integer" }),
      AGE,
    ],
    cells: (o, now) => {
      const p = o as PodDisruptionBudget;
      return [o.metadata.name ?? "", intOrStr(p.spec?.minAvailable), intOrStr(p.spec?.maxUnavailable), p.status?.disruptionsAllowed ?? 0, age(o, now)];
    },
  },
};

// ---------- additionalPrinterColumns ----------

/** The values a simple JSONPath (`.a.b`, `.a[0].b`, `.a[?(@.type=="Ready")].status`) selects. */
export function jsonPath(o: unknown, path: string): unknown[] {
  const p = path.trim().replace(/^\{(.*)\}$/, "$1").replace(/^\$/, "");
  const steps = p.match(/\.[^.[]+|\[[^\]]*\]/g) ?? [];
  let cur: unknown[] = [o];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const v of cur) {
      if (v === null || typeof v !== "object") continue;
      if (step.startsWith(".")) {
        const k = step.slice(1);
        if (k === "*") next.push(...Object.values(v as object));
        else if (k in (v as object)) next.push((v as Record<string, unknown>)[k]);
        continue;
      }
      const inner = step.slice(1, -1);
      if (!Array.isArray(v)) continue;
      if (inner === "*") next.push(...v);
      else if (/^-?\d+$/.test(inner)) {
        const i = Number(inner);
        const x = v[i < 0 ? v.length + i : i];
        if (x !== undefined) next.push(x);
      } else {
        const m = /^\?\(@\.([\w.]+)\s*==\s*["']?([^"']*)["']?\)$/.exec(inner);
        if (m) next.push(...v.filter((x) => String(jsonPath(x, `.${m[1]}`)[0]) === m[2]));
      }
    }
    cur = next;
  }
  return cur;
}

function cellOf(type: string, values: unknown[], now: Date): Cell {
  if (values.length === 0 || values[0] === undefined || values[0] === null) return "<none>";
  const v = values[0];
  if (type === "date") return typeof v === "string" ? ageOf(v, now) : String(v);
  if ((type === "integer" || type === "number") && typeof v === "number") return v;
  if (type === "boolean" && typeof v === "boolean") return v;
  if (values.length > 1) return values.map((x) => (typeof x === "object" ? JSON.stringify(x) : String(x))).join(",");
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** The printer of a custom type at its version: Name, then its columns (Name and Age when it declares none). */
export function customPrinter(rt: ResourceType): Printer | undefined {
  const v = rt.custom?.versions.find((x) => x.name === rt.version);
  if (!rt.custom || !v) return undefined;
  if (v.printerColumns.length === 0) return { columns: [NAME, AGE], cells: (o, now) => [o.metadata.name ?? "", age(o, now)] };
  const columns: TableColumnDefinition[] = [
    NAME,
    ...v.printerColumns.map((c) => ({
      name: c.name,
      type: (["string", "integer", "number", "boolean", "date"].includes(c.type) ? c.type : "string") as TableColumnDefinition["type"],
      format: c.format ?? "",
      description: c.description ?? "",
      priority: c.priority ?? 0,
    })),
  ];
  return {
    columns,
    cells: (o, now) => [o.metadata.name ?? "", ...v.printerColumns.map((c) => cellOf(c.type, jsonPath(o, c.jsonPath), now))],
  };
}
