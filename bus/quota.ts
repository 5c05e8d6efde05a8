/**
 * ResourceQuota arithmetic (pure): what one object counts against a quota, the usage of a set of
 * objects, and which hard limits a request would pass, worded as Kubernetes' quota admission words
 * them. Amounts are integers: cpu in millicores, memory and storage in bytes, counts as counts.
 *
 * @example
 *   const delta = usageOf("pods", pod);                  // { pods: 1, "count/pods": 1, "requests.cpu": 100, … }
 *   const over = exceeded(quota.spec.hard, used, delta);  // [] when it fits
 */
import type { KubeObject, Pod } from "./resources.ts";
import { milliCpu, units, formatBytes } from "./quantity.ts";

export type Amounts = Record<string, number>;

export interface ResourceQuota extends KubeObject {
  spec?: { hard?: Record<string, string>; scopes?: string[] };
  status?: { hard?: Record<string, string>; used?: Record<string, string> };
}

/** The short names quota uses for the core kinds (`pods`, `services`, …) besides `count/<resource>`. */
const CORE_COUNTS = ["pods", "services", "configmaps", "secrets", "replicationcontrollers", "resourcequotas", "persistentvolumeclaims"];

const isCpu = (key: string) => key === "cpu" || key.endsWith(".cpu");

/** A quota key's amount from its quantity ("500m" cpu → 500; "1Gi" → 1073741824; "10" pods → 10). */
export function parseAmount(key: string, q: string | number): number {
  return isCpu(key) ? milliCpu(q) : units(q);
}

/** An amount as a quantity string again ("500m", "2", "1Gi", "10"). */
export function formatAmount(key: string, n: number): string {
  if (isCpu(key)) return n % 1000 === 0 ? String(n / 1000) : `${n}m`;
  if (key.includes("memory") || key.includes("storage")) return formatBytes(n);
  return String(n);
}

export function parseAmounts(m: Record<string, string | number> | undefined): Amounts {
  const out: Amounts = {};
  for (const [k, v] of Object.entries(m ?? {})) {
    try {
      out[k] = parseAmount(k, v);
    } catch {
      // a malformed stored amount counts as nothing
    }
  }
  return out;
}

export function formatAmounts(a: Amounts): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(a).sort()) out[k] = formatAmount(k, a[k]!);
  return out;
}

/** Pods that have finished hold no quota (Kubernetes' QuotaV1Pod). */
export function podCounts(p: Pod): boolean {
  const phase = p.status?.phase;
  return phase !== "Succeeded" && phase !== "Failed";
}

/** `count/<resource>` names a type by plural, with `.<group>` for named groups. */
export function countKey(resource: string, group: string): string {
  return group ? `count/${resource}.${group}` : `count/${resource}`;
}

/** What one object of a type counts against quotas. */
export function usageOf(resource: string, group: string, o: KubeObject): Amounts {
  const out: Amounts = {};
  if (resource === "pods" && !podCounts(o as Pod)) return out;
  out[countKey(resource, group)] = 1;
  if (!group && CORE_COUNTS.includes(resource)) out[resource] = 1;
  if (resource === "services") {
    const type = (o.spec as { type?: string } | undefined)?.type;
    const ports = ((o.spec as { ports?: unknown[] } | undefined)?.ports ?? []).length;
    if (type === "NodePort" || type === "LoadBalancer") out["services.nodeports"] = ports;
    if (type === "LoadBalancer") out["services.loadbalancers"] = 1;
  }
  if (resource === "pods") {
    const containers = (o as Pod).spec?.containers ?? [];
    const sum = (which: "requests" | "limits", res: "cpu" | "memory") =>
      containers.reduce((n, c) => {
        const q = c.resources?.[which]?.[res] ?? (which === "requests" ? c.resources?.limits?.[res] : undefined);
        return n + (q === undefined ? 0 : res === "cpu" ? milliCpu(q) : units(q));
      }, 0);
    out["requests.cpu"] = out.cpu = sum("requests", "cpu");
    out["requests.memory"] = out.memory = sum("requests", "memory");
    out["limits.cpu"] = sum("limits", "cpu");
    out["limits.memory"] = sum("limits", "memory");
  }
  return out;
}

/** The containers of a pod that lack an amount a quota tracks (`must specify limits.cpu for: web`). */
export function missingSpecs(hard: Amounts, o: KubeObject): string[] {
  const containers = (o as Pod).spec?.containers ?? [];
  const out: string[] = [];
  for (const key of ["requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "cpu", "memory"]) {
    if (!(key in hard)) continue;
    const [which, res] = key.includes(".") ? (key.split(".") as ["requests" | "limits", "cpu" | "memory"]) : (["requests", key] as ["requests", "cpu" | "memory"]);
    const lacking = containers.filter((c) => c.resources?.[which]?.[res] === undefined && (which === "limits" || c.resources?.limits?.[res] === undefined));
    if (lacking.length) out.push(`${key} for: ${lacking.map((c) => c.name).join(",")}`);
  }
  return out;
}

/** The summed usage of objects (only keys the quota tracks). */
export function usageOfAll(resource: string, group: string, objects: KubeObject[], tracked: readonly string[]): Amounts {
  const out: Amounts = {};
  for (const o of objects) {
    const u = usageOf(resource, group, o);
    for (const k of tracked) if (u[k] !== undefined) out[k] = (out[k] ?? 0) + u[k]!;
  }
  return out;
}

export interface Excess {
  requested: Amounts;
  used: Amounts;
  limited: Amounts;
}

/** The hard limits `delta` would pass; undefined when it fits. */
export function exceeded(hard: Amounts, used: Amounts, delta: Amounts): Excess | undefined {
  const over = Object.keys(hard).filter((k) => (delta[k] ?? 0) > 0 && (used[k] ?? 0) + delta[k]! > hard[k]!).sort();
  if (!over.length) return undefined;
  const pick = (a: Amounts) => Object.fromEntries(over.map((k) => [k, a[k] ?? 0]));
  return { requested: pick(delta), used: pick(used), limited: pick(hard) };
}

/** `exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2` (Kubernetes' wording). */
export function exceededMessage(quota: string, e: Excess): string {
  const list = (a: Amounts) =>
    Object.keys(a)
      .sort()
      .map((k) => `${k}=${formatAmount(k, a[k]!)}`)
      .join(",");
  return `exceeded quota: ${quota}, requested: ${list(e.requested)}, used: ${list(e.used)}, limited: ${list(e.limited)}`;
}

/** The resources (plural, group) whose objects a quota's keys count. */
export function trackedTypes(hard: Amounts): { resource: string; group: string }[] {
  const out = new Map<string, { resource: string; group: string }>();
  for (const k of Object.keys(hard)) {
    if (k.startsWith("count/")) {
      const rest = k.slice("count/".length);
      const dot = rest.indexOf(".");
      const t = dot < 0 ? { resource: rest, group: "" } : { resource: rest.slice(0, dot), group: rest.slice(dot + 1) };
      out.set(`${t.resource}.${t.group}`, t);
    } else if (CORE_COUNTS.includes(k)) out.set(`${k}.`, { resource: k, group: "" });
    else if (k.startsWith("services.")) out.set("services.", { resource: "services", group: "" });
    else if (isCpu(k) || k.includes("memory")) out.set("pods.", { resource: "pods", group: "" });
  }
  return [...out.values()];
}
