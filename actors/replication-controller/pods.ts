/**
 * Pure pod predicates shared by the replication controller's decisions: which pods count, which are
 * ready/available, and in which order surplus pods are deleted (client-go's ActivePods ordering).
 */
import type { Pod } from "../../bus/resources.ts";

/** A pod that counts towards replicas: not terminal (Succeeded/Failed) and not being deleted. */
export function isPodActive(p: Pod): boolean {
  const phase = p.status?.phase;
  return phase !== "Succeeded" && phase !== "Failed" && !p.metadata.deletionTimestamp;
}

function readyCondition(p: Pod) {
  return p.status?.conditions?.find((c) => c.type === "Ready");
}

export function isPodReady(p: Pod): boolean {
  return readyCondition(p)?.status === "True";
}

/** Ready for at least `minReadySeconds` at `now` (ms since the epoch). */
export function isPodAvailable(p: Pod, minReadySeconds: number, now: number): boolean {
  if (!isPodReady(p)) return false;
  if (minReadySeconds <= 0) return true;
  const since = Date.parse(readyCondition(p)?.lastTransitionTime ?? "");
  if (Number.isNaN(since)) return false;
  return since + minReadySeconds * 1000 <= now;
}

/** Milliseconds until a ready pod becomes available, or undefined when it already is / never will. */
export function msUntilAvailable(p: Pod, minReadySeconds: number, now: number): number | undefined {
  if (!isPodReady(p) || minReadySeconds <= 0) return undefined;
  const since = Date.parse(readyCondition(p)?.lastTransitionTime ?? "");
  if (Number.isNaN(since)) return undefined;
  const left = since + minReadySeconds * 1000 - now;
  return left > 0 ? left : undefined;
}

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function restarts(p: Pod): number {
  return (p.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
}
function time(s: string | undefined): number {
  const t = Date.parse(s ?? "");
  return Number.isNaN(t) ? 0 : t;
}

/**
 * Orders pods so that the ones to delete first come first: unscheduled before scheduled, Pending
 * before Unknown before Running, not-ready before ready, ready for less time first, more restarts
 * first, newer before older; the name breaks ties so every replica decides the same.
 */
export function deletionOrder(a: Pod, b: Pod): number {
  const sa = a.spec.nodeName ? 1 : 0;
  const sb = b.spec.nodeName ? 1 : 0;
  if (sa !== sb) return sa - sb;
  const pa = PHASE_RANK[a.status?.phase ?? "Pending"] ?? 0;
  const pb = PHASE_RANK[b.status?.phase ?? "Pending"] ?? 0;
  if (pa !== pb) return pa - pb;
  const ra = isPodReady(a) ? 1 : 0;
  const rb = isPodReady(b) ? 1 : 0;
  if (ra !== rb) return ra - rb;
  if (ra === 1) {
    const ta = time(readyCondition(a)?.lastTransitionTime);
    const tb = time(readyCondition(b)?.lastTransitionTime);
    if (ta !== tb) return tb - ta;
  }
  const ca = restarts(a);
  const cb = restarts(b);
  if (ca !== cb) return cb - ca;
  const ka = time(a.metadata.creationTimestamp);
  const kb = time(b.metadata.creationTimestamp);
  if (ka !== kb) return kb - ka;
  return (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");
}
