/**
 * Kubernetes' replica calculator (pkg/controller/podautoscaler/replica_calculator.go), pure:
 * from the target's pods, their usage and a resource metric's target, the replica count that
 * metric asks for.
 *
 *   usageRatio = (Σ usage / Σ requests) / targetUtilization        (Utilization)
 *              = (Σ usage / #pods) / targetAverageValue             (AverageValue)
 *   |usageRatio − 1| ≤ tolerance (0.1) → keep the current count, else ceil(usageRatio × #ready pods).
 *
 * Pods being deleted or Failed are ignored; Pending pods, and for cpu pods that are not ready (or
 * became ready so recently that their sample may predate it, during the first 5 minutes) are
 * *unready*; pods without a sample are *missing*. When some are missing or unready, the ratio is
 * recomputed as Kubernetes does: on a scale-down missing pods count as using 100 % of their
 * request (or the target, if higher); on a scale-up missing and unready pods count as using
 * nothing — and if that flips the direction or lands in the tolerance, nothing changes.
 */
import type { Pod } from "../../bus/resources.ts";
import type { MetricTarget, ResourceMetricName } from "../../bus/hpa.ts";
import { milliCpu, units } from "../../bus/quantity.ts";

export const TOLERANCE = 0.1;
export const CPU_INITIALIZATION_PERIOD_MS = 5 * 60_000;
export const INITIAL_READINESS_DELAY_MS = 30_000;

/** A pod's usage as the metrics API reports it (summed over its containers). */
export interface PodSample {
  /** cpu in millicores, memory in bytes. */
  value: number;
  timestamp: number;
  windowMs: number;
}

export type Proposal =
  | { ok: true; replicas: number; utilization?: number; averageValue: number }
  | { ok: false; reason: string; message: string };

const ready = (p: Pod) => p.status?.conditions?.find((c) => c.type === "Ready");

/** Which pods count: ready with a sample, unready, missing a sample (ignored ones are left out). */
export function groupPods(pods: Pod[], samples: Map<string, PodSample>, resource: ResourceMetricName, now: number): { ready: string[]; unready: string[]; missing: string[] } {
  const out = { ready: [] as string[], unready: [] as string[], missing: [] as string[] };
  for (const p of pods) {
    const name = p.metadata.name!;
    if (p.metadata.deletionTimestamp || p.status?.phase === "Failed" || p.status?.phase === "Succeeded") continue;
    if (!p.status?.phase || p.status.phase === "Pending") {
      out.unready.push(name);
      continue;
    }
    const s = samples.get(name);
    if (!s) {
      out.missing.push(name);
      continue;
    }
    if (resource === "cpu") {
      const cond = ready(p);
      const start = p.status.startTime ? Date.parse(p.status.startTime) : undefined;
      let unready: boolean;
      if (!cond || start === undefined) unready = true;
      else {
        const changed = Date.parse(cond.lastTransitionTime ?? "") || 0;
        if (start + CPU_INITIALIZATION_PERIOD_MS > now) unready = cond.status === "False" || s.timestamp < changed + s.windowMs;
        else unready = cond.status === "False" && start + INITIAL_READINESS_DELAY_MS > changed;
      }
      if (unready) {
        out.unready.push(name);
        continue;
      }
    }
    out.ready.push(name);
  }
  return out;
}

/** A pod's request of the resource (cpu in millicores), or undefined when a container has none. */
export function podRequest(p: Pod, resource: ResourceMetricName): number | undefined {
  let sum = 0;
  for (const c of p.spec.containers) {
    const q = c.resources?.requests?.[resource] ?? c.resources?.limits?.[resource];
    if (q === undefined) return undefined;
    sum += resource === "cpu" ? milliCpu(q) : units(q);
  }
  return sum;
}

const withinTolerance = (ratio: number) => Math.abs(1 - ratio) <= TOLERANCE;

/**
 * The replicas one Resource metric asks for. `samples` is by pod name; cpu values in millicores,
 * memory in bytes.
 */
export function resourceReplicas(currentReplicas: number, resource: ResourceMetricName, target: MetricTarget, pods: Pod[], samples: Map<string, PodSample>, now: number): Proposal {
  const what = `${resource} resource${target.type === "Utilization" ? " utilization (percentage of request)" : ""}`;
  if (pods.length === 0) return { ok: false, reason: "FailedGetResourceMetric", message: `failed to get ${what}: no pods match the target's selector` };
  const groups = groupPods(pods, samples, resource, now);
  const usage = new Map<string, number>();
  for (const n of groups.ready) usage.set(n, samples.get(n)!.value);
  if (usage.size === 0) return { ok: false, reason: "FailedGetResourceMetric", message: `failed to get ${what}: unable to get metrics for resource ${resource}: no metrics returned from resource metrics API (pods might be unready)` };

  // ratio(m) → [usageRatio, utilization %, average raw value]
  let ratio: (m: Map<string, number>) => [number, number | undefined, number];
  if (target.type === "Utilization") {
    const requests = new Map<string, number>();
    for (const p of pods) {
      const r = podRequest(p, resource);
      if (r === undefined || r === 0) {
        if (groups.ready.includes(p.metadata.name!) || groups.missing.includes(p.metadata.name!)) {
          return { ok: false, reason: "FailedGetResourceMetric", message: `failed to get ${what}: missing request for ${resource} in container of pod ${p.metadata.name}` };
        }
        continue;
      }
      requests.set(p.metadata.name!, r);
    }
    const targetPct = target.averageUtilization ?? 0;
    if (targetPct <= 0) return { ok: false, reason: "InvalidMetricSourceType", message: `invalid ${what} target` };
    ratio = (m) => {
      let u = 0;
      let r = 0;
      for (const [n, v] of m) {
        u += v;
        r += requests.get(n) ?? 0;
      }
      const util = r > 0 ? Math.round((u * 100) / r) : 0;
      return [r > 0 ? (u * 100) / r / targetPct : 0, util, m.size ? u / m.size : 0];
    };
    const [r0, util, avg] = ratio(usage);
    const scaleUpWithUnready = groups.unready.length > 0 && r0 > 1;
    if (!scaleUpWithUnready && groups.missing.length === 0) {
      return { ok: true, replicas: withinTolerance(r0) ? currentReplicas : Math.ceil(r0 * usage.size), utilization: util, averageValue: avg };
    }
    const filled = new Map(usage);
    for (const n of groups.missing) filled.set(n, r0 < 1 ? ((requests.get(n) ?? 0) * Math.max(100, targetPct)) / 100 : 0);
    if (scaleUpWithUnready) for (const n of groups.unready) if (requests.has(n)) filled.set(n, 0);
    return settle(currentReplicas, r0, ratio(filled)[0], filled.size, util, avg);
  }
  const targetValue = target.averageValue !== undefined ? (resource === "cpu" ? milliCpu(target.averageValue) : units(target.averageValue)) : 0;
  if (target.type !== "AverageValue" || targetValue <= 0) return { ok: false, reason: "InvalidMetricSourceType", message: `invalid ${resource} resource target` };
  ratio = (m) => {
    let u = 0;
    for (const v of m.values()) u += v;
    const avg = m.size ? u / m.size : 0;
    return [avg / targetValue, undefined, avg];
  };
  const [r0, , avg] = ratio(usage);
  const scaleUpWithUnready = groups.unready.length > 0 && r0 > 1;
  if (!scaleUpWithUnready && groups.missing.length === 0) {
    return { ok: true, replicas: withinTolerance(r0) ? currentReplicas : Math.ceil(r0 * usage.size), averageValue: avg };
  }
  const filled = new Map(usage);
  for (const n of groups.missing) filled.set(n, r0 < 1 ? targetValue : 0);
  if (scaleUpWithUnready) for (const n of groups.unready) filled.set(n, 0);
  return settle(currentReplicas, r0, ratio(filled)[0], filled.size, undefined, avg);
}

/** After filling in missing / unready pods: no change when it lands in tolerance or flips direction. */
function settle(current: number, before: number, after: number, count: number, utilization: number | undefined, averageValue: number): Proposal {
  const keep = { ok: true as const, replicas: current, ...(utilization !== undefined ? { utilization } : {}), averageValue };
  if (withinTolerance(after) || (before < 1 && after > 1) || (before > 1 && after < 1)) return keep;
  const replicas = Math.ceil(after * count);
  if ((after < 1 && replicas > current) || (after > 1 && replicas < current)) return keep;
  return { ...keep, replicas };
}
