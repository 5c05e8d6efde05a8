/**
 * Pure arithmetic of a Deployment rollout (Kubernetes' deployment util): maxSurge/maxUnavailable
 * resolution, revisions, and the replica counts a rolling update may move to next.
 */
import type { Deployment, ReplicaSet } from "../../bus/resources.ts";

export const Annotation = {
  revision: "deployment.kubernetes.io/revision",
  revisionHistory: "deployment.kubernetes.io/revision-history",
  desiredReplicas: "deployment.kubernetes.io/desired-replicas",
  maxReplicas: "deployment.kubernetes.io/max-replicas",
  lastApplied: "kubectl.kubernetes.io/last-applied-configuration",
} as const;

/** Deployment annotations never copied onto its ReplicaSets. */
const NOT_COPIED: ReadonlySet<string> = new Set([
  Annotation.revision,
  Annotation.revisionHistory,
  Annotation.desiredReplicas,
  Annotation.maxReplicas,
  Annotation.lastApplied,
  "deprecated.deployment.rollback.to",
]);

export function copiedAnnotations(d: Deployment): Record<string, string> {
  return Object.fromEntries(Object.entries(d.metadata.annotations ?? {}).filter(([k]) => !NOT_COPIED.has(k)));
}

/** An int-or-percent of `total` (Kubernetes' GetScaledValueFromIntOrPercent). */
export function scaled(v: number | string | undefined, fallback: string, total: number, roundUp: boolean): number {
  const x = v ?? fallback;
  if (typeof x === "number") return x;
  const m = /^(\d+)%$/.exec(x);
  if (!m) return Number.parseInt(x, 10) || 0;
  const f = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(f) : Math.floor(f);
}

/** maxSurge rounds up, maxUnavailable down; both 0 would deadlock, so maxUnavailable becomes 1. */
export function resolveFenceposts(d: Deployment): { maxSurge: number; maxUnavailable: number } {
  const replicas = replicasOf(d);
  const ru = d.spec.strategy?.rollingUpdate;
  const maxSurge = scaled(ru?.maxSurge, "25%", replicas, true);
  let maxUnavailable = scaled(ru?.maxUnavailable, "25%", replicas, false);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable: Math.min(maxUnavailable, replicas) };
}

export function replicasOf(o: Deployment | ReplicaSet): number {
  return o.spec.replicas ?? 1;
}
export function isRecreate(d: Deployment): boolean {
  return d.spec.strategy?.type === "Recreate";
}
export function maxUnavailableOf(d: Deployment): number {
  return isRecreate(d) ? 0 : resolveFenceposts(d).maxUnavailable;
}

/** Available replicas an RS can be trusted with: never more than its (possibly just lowered) spec. */
export function availableOf(rs: ReplicaSet): number {
  return Math.min(rs.status?.availableReplicas ?? 0, replicasOf(rs));
}

export function revisionOf(rs: ReplicaSet): number {
  const n = Number.parseInt(rs.metadata.annotations?.[Annotation.revision] ?? "", 10);
  return Number.isNaN(n) ? 0 : n;
}

export function byCreation(a: ReplicaSet, b: ReplicaSet): number {
  const ta = Date.parse(a.metadata.creationTimestamp ?? "") || 0;
  const tb = Date.parse(b.metadata.creationTimestamp ?? "") || 0;
  return ta - tb || (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");
}

/** Replicas a new RS starts with: as many as the surge allows, at most the desired count. */
export function newReplicasForRolling(d: Deployment, newRs: ReplicaSet | undefined, all: readonly ReplicaSet[]): number {
  const replicas = replicasOf(d);
  const current = newRs ? replicasOf(newRs) : 0;
  if (current === replicas) return current;
  if (current > replicas) return replicas;
  const { maxSurge } = resolveFenceposts(d);
  const total = all.reduce((n, rs) => n + replicasOf(rs), 0);
  const maxTotal = replicas + maxSurge;
  if (total >= maxTotal) return current;
  return current + Math.min(maxTotal - total, replicas - current);
}

/**
 * New spec.replicas of the old RSs (oldest first): first remove unhealthy replicas, then scale
 * down only as far as keeps `replicas - maxUnavailable` available, counting the new RS's
 * unavailable pods against the budget (Kubernetes' reconcileOldReplicaSets).
 */
export function scaleDownOld(d: Deployment, newRs: ReplicaSet | undefined, old: readonly ReplicaSet[]): Map<string, number> {
  const out = new Map<string, number>();
  const oldCount = old.reduce((n, rs) => n + replicasOf(rs), 0);
  if (oldCount === 0) return out;
  const all = newRs ? [newRs, ...old] : [...old];
  const allCount = all.reduce((n, rs) => n + replicasOf(rs), 0);
  const { maxUnavailable } = resolveFenceposts(d);
  const minAvailable = replicasOf(d) - maxUnavailable;
  const newUnavailable = newRs ? replicasOf(newRs) - availableOf(newRs) : 0;
  const maxScaledDown = allCount - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return out;
  const sorted = [...old].sort(byCreation);
  const spec = new Map(sorted.map((rs) => [rs.metadata.name!, replicasOf(rs)]));
  // 1. Unhealthy replicas of old RSs go first: they do not count as available anyway.
  let cleaned = 0;
  for (const rs of sorted) {
    if (cleaned >= maxScaledDown) break;
    const cur = spec.get(rs.metadata.name!)!;
    const available = availableOf(rs);
    if (cur === 0 || cur <= available) continue;
    const n = Math.min(maxScaledDown - cleaned, cur - available);
    spec.set(rs.metadata.name!, cur - n);
    cleaned += n;
  }
  // 2. Then available ones, keeping minAvailable.
  const available = all.reduce((n, rs) => n + availableOf(rs), 0);
  let budget = Math.min(available - minAvailable, maxScaledDown - cleaned);
  for (const rs of sorted) {
    if (budget <= 0) break;
    const cur = spec.get(rs.metadata.name!)!;
    if (cur === 0) continue;
    const n = Math.min(cur, budget);
    spec.set(rs.metadata.name!, cur - n);
    budget -= n;
  }
  for (const rs of sorted) if (spec.get(rs.metadata.name!) !== replicasOf(rs)) out.set(rs.metadata.name!, spec.get(rs.metadata.name!)!);
  return out;
}
