/**
 * Label selectors (string form `a=b,c!=d,e in (x,y),f notin (z),g,!h` and LabelSelector objects)
 * and field selectors (`metadata.name=x,spec.nodeName!=y`).
 */
import type { Labels, LabelSelector, KubeObject } from "./resources.ts";
import { FlotillaError, ErrorCode } from "./errors.ts";

export type Requirement =
  | { key: string; op: "=" | "!="; value: string }
  | { key: string; op: "in" | "notin"; values: string[] }
  | { key: string; op: "exists" | "!exists" };

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (cur.trim() !== "") out.push(cur);
  return out.map((x) => x.trim()).filter((x) => x !== "");
}

const SET_RE = /^([A-Za-z0-9_./-]+)\s+(in|notin)\s+\(([^)]*)\)$/;
const EQ_RE = /^([A-Za-z0-9_./-]+)\s*(==|=|!=)\s*([A-Za-z0-9_.-]*)$/;
const KEY_RE = /^(!?)([A-Za-z0-9_./-]+)$/;

export function parseLabelSelector(s: string | undefined): Requirement[] {
  if (!s) return [];
  return splitTopLevel(s).map((part) => {
    let m = SET_RE.exec(part);
    if (m) return { key: m[1]!, op: m[2] as "in" | "notin", values: m[3]!.split(",").map((v) => v.trim()).filter((v) => v !== "") };
    m = EQ_RE.exec(part);
    if (m) return { key: m[1]!, op: m[2] === "!=" ? "!=" : "=", value: m[3]! };
    m = KEY_RE.exec(part);
    if (m) return { key: m[2]!, op: m[1] ? "!exists" : "exists" };
    throw new FlotillaError(ErrorCode.BadRequest, `unable to parse requirement: ${JSON.stringify(part)}`);
  });
}

export function matchesRequirements(reqs: Requirement[], labels: Labels | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case "=":
        return has && l[r.key] === r.value;
      case "!=":
        return !has || l[r.key] !== r.value;
      case "in":
        return has && r.values.includes(l[r.key]!);
      case "notin":
        return !has || !r.values.includes(l[r.key]!);
      case "exists":
        return has;
      case "!exists":
        return !has;
    }
  });
}

/** LabelSelector object → requirements. An empty selector matches everything. */
export function selectorRequirements(sel: LabelSelector | undefined): Requirement[] {
  if (!sel) return [];
  const reqs: Requirement[] = Object.entries(sel.matchLabels ?? {}).map(([key, value]) => ({ key, op: "=" as const, value }));
  for (const e of sel.matchExpressions ?? []) {
    if (e.operator === "In") reqs.push({ key: e.key, op: "in", values: e.values ?? [] });
    else if (e.operator === "NotIn") reqs.push({ key: e.key, op: "notin", values: e.values ?? [] });
    else if (e.operator === "Exists") reqs.push({ key: e.key, op: "exists" });
    else reqs.push({ key: e.key, op: "!exists" });
  }
  return reqs;
}

export function matchesSelector(sel: LabelSelector | undefined, labels: Labels | undefined): boolean {
  return matchesRequirements(selectorRequirements(sel), labels);
}

/** `a=b,c=d` (kubectl's wide Selector column, Scale.status.selector). */
export function selectorToString(sel: LabelSelector | Labels | undefined): string {
  if (!sel) return "";
  const isObj = "matchLabels" in sel || "matchExpressions" in sel;
  const reqs = isObj ? selectorRequirements(sel as LabelSelector) : selectorRequirements({ matchLabels: sel as Labels });
  return reqs
    .map((r) => {
      switch (r.op) {
        case "=":
        case "!=":
          return `${r.key}${r.op}${r.value}`;
        case "in":
        case "notin":
          return `${r.key} ${r.op} (${r.values.join(",")})`;
        case "exists":
          return r.key;
        case "!exists":
          return `!${r.key}`;
      }
    })
    .join(",");
}

// ---------- field selectors ----------
export interface FieldRequirement {
  field: string;
  op: "=" | "!=";
  value: string;
}

/** Fields each resource can be selected by (beyond metadata.name / metadata.namespace). */
const FIELDS: Record<string, Record<string, (o: KubeObject) => string>> = {
  pods: {
    "spec.nodeName": (o) => ((o.spec as { nodeName?: string })?.nodeName ?? ""),
    "status.phase": (o) => ((o.status as { phase?: string })?.phase ?? ""),
    "spec.schedulerName": (o) => ((o.spec as { schedulerName?: string })?.schedulerName ?? ""),
    "spec.restartPolicy": (o) => ((o.spec as { restartPolicy?: string })?.restartPolicy ?? ""),
    "status.podIP": (o) => ((o.status as { podIP?: string })?.podIP ?? ""),
  },
  events: {
    "involvedObject.name": (o) => String((o.involvedObject as { name?: string })?.name ?? ""),
    "involvedObject.namespace": (o) => String((o.involvedObject as { namespace?: string })?.namespace ?? ""),
    "involvedObject.kind": (o) => String((o.involvedObject as { kind?: string })?.kind ?? ""),
    "involvedObject.uid": (o) => String((o.involvedObject as { uid?: string })?.uid ?? ""),
    "involvedObject.apiVersion": (o) => String((o.involvedObject as { apiVersion?: string })?.apiVersion ?? ""),
    "involvedObject.resourceVersion": (o) => String((o.involvedObject as { resourceVersion?: string })?.resourceVersion ?? ""),
    "involvedObject.fieldPath": (o) => String((o.involvedObject as { fieldPath?: string })?.fieldPath ?? ""),
    reason: (o) => String(o.reason ?? ""),
    type: (o) => String(o.type ?? ""),
    source: (o) => String((o.source as { component?: string })?.component ?? ""),
  },
  nodes: { "spec.unschedulable": (o) => String((o.spec as { unschedulable?: boolean })?.unschedulable ?? false) },
  secrets: { type: (o) => String(o.type ?? "") },
  replicasets: { "status.replicas": (o) => String((o.status as { replicas?: number })?.replicas ?? 0) },
  replicationcontrollers: { "status.replicas": (o) => String((o.status as { replicas?: number })?.replicas ?? 0) },
  namespaces: { "status.phase": (o) => String((o.status as { phase?: string })?.phase ?? "") },
};

function fieldGetter(resource: string, field: string): ((o: KubeObject) => string) | undefined {
  if (field === "metadata.name") return (o) => o.metadata.name ?? "";
  if (field === "metadata.namespace") return (o) => o.metadata.namespace ?? "";
  return FIELDS[resource]?.[field];
}

/** Parses a field selector; an unsupported field is a BadRequest, as in Kubernetes. */
export function parseFieldSelector(resource: string, s: string | undefined): FieldRequirement[] {
  if (!s) return [];
  return s
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "")
    .map((p) => {
      const m = /^([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*)$/.exec(p);
      if (!m) throw new FlotillaError(ErrorCode.BadRequest, `invalid selector: '${p}'; can't understand '${p}'`);
      if (!fieldGetter(resource, m[1]!)) {
        throw new FlotillaError(ErrorCode.BadRequest, `field label not supported: ${m[1]}`);
      }
      return { field: m[1]!, op: m[2] === "!=" ? "!=" : "=", value: m[3]! };
    });
}

export function matchesFields(resource: string, reqs: FieldRequirement[], o: KubeObject): boolean {
  return reqs.every((r) => {
    const v = fieldGetter(resource, r.field)!(o);
    return r.op === "=" ? v === r.value : v !== r.value;
  });
}

/** One predicate for list/watch: label selector + field selector. */
export function objectFilter(resource: string, labelSelector?: string, fieldSelector?: string): (o: KubeObject) => boolean {
  const l = parseLabelSelector(labelSelector);
  const f = parseFieldSelector(resource, fieldSelector);
  if (l.length === 0 && f.length === 0) return () => true;
  return (o) => matchesRequirements(l, o.metadata.labels) && matchesFields(resource, f, o);
}
