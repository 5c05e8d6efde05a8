/**
 * Server-side Table output (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), which kubectl
 * get prints. Rows carry the object as PartialObjectMetadata (default), the whole object
 * (`includeObject=Object`, for --sort-by) or nothing (`None`). Wide columns are always sent.
 *
 * @example toTable("pods", pods, { now: new Date(), resourceVersion: "1007" })
 */
import type { KubeObject } from "../../bus/resources.ts";
import type { ResourceType } from "../../bus/kinds.ts";
import { customPrinter } from "./table-printers-policy.ts";
import { defaultPrinter, PRINTERS, type Cell, type TableColumnDefinition, type TableRowCondition } from "./table-printers.ts";

export { humanDuration } from "./human-duration.ts";
export type { Cell, TableColumnDefinition, TableRowCondition } from "./table-printers.ts";

export interface PartialObjectMetadata {
  kind: "PartialObjectMetadata";
  apiVersion: "meta.k8s.io/v1";
  metadata: KubeObject["metadata"];
}
export interface TableRow {
  cells: Cell[];
  conditions?: TableRowCondition[];
  object?: PartialObjectMetadata | KubeObject;
}
export interface Table {
  kind: "Table";
  apiVersion: "meta.k8s.io/v1";
  metadata: { resourceVersion?: string };
  /** Empty when `noHeaders` (later events of a Table watch). */
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}
export interface TableOptions {
  now: Date;
  includeObject?: "None" | "Metadata" | "Object";
  resourceVersion?: string;
  noHeaders?: boolean;
}

function rowObject(o: KubeObject, include: TableOptions["includeObject"]): TableRow["object"] {
  if (include === "None") return undefined;
  if (include === "Object") return o;
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata };
}

/**
 * `type` is the plural (`pods`, `deployments`, …) or the type itself; a custom type prints its
 * additionalPrinterColumns; unknown ones get Name and Created At.
 */
export function toTable(type: string | ResourceType, objects: KubeObject[], opts: TableOptions): Table {
  const resource = typeof type === "string" ? type : type.resource;
  const custom = typeof type === "string" ? undefined : customPrinter(type);
  const printer = custom ?? (Object.hasOwn(PRINTERS, resource) ? PRINTERS[resource]! : defaultPrinter);
  const rows = objects.map((o): TableRow => {
    const row: TableRow = { cells: printer.cells(o, opts.now) };
    const conditions = printer.conditions?.(o);
    if (conditions) row.conditions = conditions;
    const object = rowObject(o, opts.includeObject);
    if (object) row.object = object;
    return row;
  });
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: opts.resourceVersion !== undefined ? { resourceVersion: opts.resourceVersion } : {},
    columnDefinitions: opts.noHeaders ? [] : printer.columns,
    rows,
  };
}
