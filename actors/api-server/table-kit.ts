/**
 * The building blocks of the Table printers: column definitions, the shared Name/Age/Containers/
 * Images/Selector columns and the cell helpers kube-apiserver's printers use.
 */
import type { KubeObject, Labels, PodTemplateSpec } from "../../bus/resources.ts";
import { selectorToString } from "../../bus/selectors.ts";
import { ageOf } from "./human-duration.ts";

export type Cell = string | number | boolean;
export interface TableColumnDefinition {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  format: string;
  description: string;
  priority: number;
}
export interface TableRowCondition {
  type: "Completed";
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
}
export interface Printer {
  columns: TableColumnDefinition[];
  cells(o: KubeObject, now: Date): Cell[];
  conditions?(o: KubeObject): TableRowCondition[] | undefined;
}

export function col(name: string, description: string, opts: Partial<Pick<TableColumnDefinition, "type" | "format" | "priority">> = {}): TableColumnDefinition {
  return { name, type: opts.type ?? "string", format: opts.format ?? "", description, priority: opts.priority ?? 0 };
}
export const wide = { priority: 1 };
export const NAME = col("Name", "Name must be unique within a namespace.", { format: "name" });
export const AGE = col("Age", "CreationTimestamp is a timestamp representing the server time when this object was created.");
export const CONTAINERS = col("Containers", "Names of each container in the template.", wide);
export const IMAGES = col("Images", "Images referenced by each container in the template.", wide);
export const SELECTOR = col("Selector", "Label selector for pods.", wide);

export const age = (o: KubeObject, now: Date) => ageOf(o.metadata.creationTimestamp, now);
export const orNone = (s: string | undefined) => (s ? s : "<none>");
/** labels.FormatLabels: sorted `k=v,…`, `<none>` when empty. */
export const formatLabels = (l: Labels | undefined) => orNone(selectorToString(Object.fromEntries(Object.entries(l ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)))));
export function containerCells(t: PodTemplateSpec | undefined): [string, string] {
  const cs = t?.spec?.containers ?? [];
  return [cs.map((c) => c.name).join(","), cs.map((c) => c.image ?? "").join(",")];
}
