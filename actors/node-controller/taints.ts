/**
 * Pure taint and toleration logic of the node controller: which NoExecute/NoSchedule taints a node's
 * health calls for, and when a pod on a tainted node must be evicted.
 */
import type { Pod, Taint, Toleration } from "../../bus/resources.ts";

export const TaintKey = {
  unreachable: "node.kubernetes.io/unreachable",
  notReady: "node.kubernetes.io/not-ready",
} as const;
export type TaintKey = (typeof TaintKey)[keyof typeof TaintKey];

export const Health = {
  /** Lease fresh and the kubelet reports Ready=True (or nothing). */
  Ready: "Ready",
  /** Lease fresh, but the kubelet reports Ready=False. */
  NotReady: "NotReady",
  /** No lease renewal within the grace period, or its connection dropped and did not return. */
  Unknown: "Unknown",
  /** Registered, no heartbeat seen yet. */
  New: "New",
} as const;
export type Health = (typeof Health)[keyof typeof Health];

const OURS: readonly string[] = [TaintKey.unreachable, TaintKey.notReady];

function wanted(health: Health): { key: TaintKey; effect: Taint["effect"] }[] {
  switch (health) {
    case Health.Ready:
      return [];
    case Health.New:
      return [{ key: TaintKey.notReady, effect: "NoSchedule" }];
    case Health.NotReady:
      return [
        { key: TaintKey.notReady, effect: "NoSchedule" },
        { key: TaintKey.notReady, effect: "NoExecute" },
      ];
    case Health.Unknown:
      return [
        { key: TaintKey.unreachable, effect: "NoSchedule" },
        { key: TaintKey.unreachable, effect: "NoExecute" },
      ];
  }
}

/**
 * The node's taints for a health: other taints are kept as they are, ours are added or removed;
 * a taint already present keeps its `timeAdded` (toleration clocks do not restart).
 */
export function desiredTaints(current: readonly Taint[] | undefined, health: Health, nowIso: string): Taint[] {
  const cur = current ?? [];
  const keep = cur.filter((t) => !OURS.includes(t.key));
  const add = wanted(health).map((w) => cur.find((t) => t.key === w.key && t.effect === w.effect) ?? { ...w, timeAdded: nowIso });
  return [...keep, ...add];
}

export function sameTaints(a: readonly Taint[] | undefined, b: readonly Taint[] | undefined): boolean {
  const norm = (l: readonly Taint[] | undefined) =>
    (l ?? []).map((t) => `${t.key}=${t.value ?? ""}:${t.effect}@${t.timeAdded ?? ""}`).sort().join("|");
  return norm(a) === norm(b);
}

/** Kubernetes' ToleratesTaint. */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.operator === "Exists") return !t.key || t.key === taint.key;
  if (t.key !== taint.key) return false;
  return (t.value ?? "") === (taint.value ?? "");
}

/**
 * When a pod on a node with these taints must be evicted, in ms since the epoch:
 * `null` = never (every NoExecute taint is tolerated forever); `now` or earlier = at once.
 * A taint no toleration matches evicts at once; otherwise the shortest tolerationSeconds among the
 * matching tolerations counts from the taint's timeAdded.
 */
export function evictionAt(pod: Pod, taints: readonly Taint[] | undefined, now: number): number | null {
  const noExec = (taints ?? []).filter((t) => t.effect === "NoExecute");
  let at: number | null = null;
  for (const taint of noExec) {
    const matching = (pod.spec.tolerations ?? []).filter((t) => tolerates(t, taint));
    if (matching.length === 0) return now;
    const secs = matching.map((t) => t.tolerationSeconds).filter((s): s is number => typeof s === "number");
    if (secs.length === 0) continue; // tolerated forever
    const since = taint.timeAdded ? Date.parse(taint.timeAdded) : now;
    const due = (Number.isFinite(since) ? since : now) + Math.max(0, Math.min(...secs)) * 1000;
    at = at === null ? due : Math.min(at, due);
  }
  return at;
}
