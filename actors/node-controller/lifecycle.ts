/**
 * Pure node-lifecycle decisions: a node's health from its Lease and its NATS connection, what to
 * write about it (Ready condition, taints, events), the mass-disconnect guard and the eviction rate.
 * No clock, no I/O: `now` comes in.
 */
import type { Node, NodeCondition, Taint } from "../../bus/resources.ts";
import { Health, desiredTaints, sameTaints } from "./taints.ts";

export interface LifecycleOptions {
  /** No lease renewal for this long (or the Lease's own duration, when longer) → Unknown (the authoritative signal). */
  gracePeriodMs: number;
  /** A dropped connection that did not come back for this long → Unknown (the fast signal). */
  disconnectGraceMs: number;
}

export interface NodeObservation {
  node: Node;
  /** When this controller last saw the node's Lease (or gave it a fresh grace); undefined: never. */
  leaseObservedAt?: number;
  /** When this controller last saw the Lease actually change (a real renewal, not a grace). */
  leaseRenewedAt?: number;
  /** The Lease's own `leaseDurationSeconds`, in ms: a kubelet that renews less often gets that long. */
  leaseDurationMs?: number;
  /** When the kubelet's last NATS connection dropped, if it has none now (undefined: connected or unknown). */
  disconnectedAt?: number;
  /** When this controller started watching (a fresh leader gives every node a full grace). */
  watchingSince: number;
  /** Mass disconnect: the fast signal is not trusted, only leases count. */
  ignoreConnections: boolean;
}

export const REASON_UNKNOWN = "NodeStatusUnknown";
export const MESSAGE_UNKNOWN = "Kubelet stopped posting node status.";
export const REASON_RESTORED = "KubeletReady";

export function readyCondition(node: Node): NodeCondition | undefined {
  return node.status?.conditions?.find((c) => c.type === "Ready");
}

/** The node's health and, for Unknown/New, when it next changes by itself (for a re-check). */
export function nodeHealth(o: NodeObservation, now: number, opts: LifecycleOptions): { health: Health; recheckAt?: number } {
  const created = Date.parse(o.node.metadata.creationTimestamp ?? "") || o.watchingSince;
  const lastSign = o.leaseObservedAt ?? Math.max(created, o.watchingSince);
  // The grace period, or the node's own Lease duration when that is longer (Kubernetes pairs a
  // 40 s Lease with a 40 s grace; a kubelet here may be given a longer Lease than the default).
  const leaseDeadline = lastSign + Math.max(opts.gracePeriodMs, o.leaseDurationMs ?? 0);
  if (now >= leaseDeadline) return { health: Health.Unknown };
  // Once we said Unknown, only a renewal seen after that brings the node back (a fresh grace does not).
  const ready = readyCondition(o.node);
  if (ready?.status === "Unknown" && ready.reason === REASON_UNKNOWN) {
    const since = Date.parse(ready.lastTransitionTime ?? "") || 0;
    if (o.leaseRenewedAt === undefined || o.leaseRenewedAt <= since) return { health: Health.Unknown };
  }
  const lostConn =
    !o.ignoreConnections && o.disconnectedAt !== undefined && (o.leaseObservedAt ?? -Infinity) <= o.disconnectedAt;
  if (lostConn) {
    const connDeadline = (o.disconnectedAt as number) + opts.disconnectGraceMs;
    if (now >= connDeadline) return { health: Health.Unknown };
    return { health: baseHealth(o), recheckAt: Math.min(connDeadline, leaseDeadline) };
  }
  return { health: baseHealth(o), recheckAt: leaseDeadline };
}

function baseHealth(o: NodeObservation): Health {
  if (o.leaseObservedAt === undefined) return Health.New;
  const ready = readyCondition(o.node);
  if (ready?.status === "False") return Health.NotReady;
  return Health.Ready;
}

export type NodeCommand =
  | { type: "node.status"; conditions: NodeCondition[] }
  | { type: "node.taint"; taints: Taint[] }
  | { type: "event.record"; eventType: "Normal" | "Warning"; reason: "NodeNotReady" | "NodeReady"; message: string }
  /** Kubernetes' MarkPodsNotReady: the kubelet cannot say so itself any more. */
  | { type: "pods.mark-not-ready"; node: string; at: string };

/** Conditions for an Unknown node: every condition the kubelet reported becomes Unknown (as in Kubernetes). */
function unknownConditions(node: Node, nowIso: string): NodeCondition[] {
  const conds = node.status?.conditions ?? [];
  const withReady = conds.some((c) => c.type === "Ready") ? conds : [...conds, { type: "Ready", status: "True" as const }];
  return withReady.map((c) =>
    c.status === "Unknown"
      ? c
      : { ...c, status: "Unknown" as const, reason: REASON_UNKNOWN, message: MESSAGE_UNKNOWN, lastTransitionTime: nowIso },
  );
}

/** The writes a node needs for its health. Empty when the node is already as it should be. */
export function decideNode(node: Node, health: Health, nowIso: string): NodeCommand[] {
  const cmds: NodeCommand[] = [];
  const ready = readyCondition(node);
  if (health === Health.Unknown && ready?.status !== "Unknown") {
    cmds.push({ type: "node.status", conditions: unknownConditions(node, nowIso) });
    cmds.push({ type: "event.record", eventType: "Warning", reason: "NodeNotReady", message: `Node ${node.metadata.name} status is now: NodeNotReady` });
    cmds.push({ type: "pods.mark-not-ready", node: node.metadata.name!, at: nowIso });
  }
  // A node that came back: its conditions were set Unknown by us; the fresh lease is its heartbeat.
  if (health === Health.Ready && ready?.status === "Unknown" && ready.reason === REASON_UNKNOWN) {
    const conditions = (node.status?.conditions ?? []).map((c) =>
      c.reason === REASON_UNKNOWN
        ? {
            ...c,
            status: (c.type === "Ready" ? "True" : "False") as NodeCondition["status"],
            reason: c.type === "Ready" ? REASON_RESTORED : undefined,
            message: c.type === "Ready" ? "lease renewed again" : undefined,
            lastTransitionTime: nowIso,
          }
        : c,
    );
    cmds.push({ type: "node.status", conditions });
    cmds.push({ type: "event.record", eventType: "Normal", reason: "NodeReady", message: `Node ${node.metadata.name} status is now: NodeReady` });
  }
  const taints = desiredTaints(node.spec.taints, health, nowIso);
  if (!sameTaints(taints, node.spec.taints)) cmds.push({ type: "node.taint", taints });
  return cmds;
}

// ---------- guards ----------

export const Disruption = {
  /** Few nodes unhealthy: evict at the normal rate. */
  Normal: "Normal",
  /** At least the mass-disconnect fraction unhealthy: evict slowly. */
  Partial: "Partial",
  /** Every node unhealthy: the controller is more likely cut off than the nodes; evict nothing. */
  Full: "Full",
} as const;
export type Disruption = (typeof Disruption)[keyof typeof Disruption];

/** Kubernetes' zone state, for the whole cluster. */
export function disruption(healths: readonly Health[], fraction: number): Disruption {
  const known = healths.filter((h) => h !== Health.New);
  if (known.length === 0) return Disruption.Normal;
  const bad = known.filter((h) => h === Health.Unknown || h === Health.NotReady).length;
  if (bad === 0) return Disruption.Normal;
  if (bad === known.length && known.length > 1) return Disruption.Full;
  if (bad === known.length) return Disruption.Normal; // a one-node cluster: nothing to compare with
  return bad / known.length >= fraction ? Disruption.Partial : Disruption.Normal;
}

/** Pods evicted per second in a disruption state. */
export function evictionRate(d: Disruption, normalPerSecond: number): number {
  switch (d) {
    case Disruption.Normal:
      return normalPerSecond;
    case Disruption.Partial:
      return normalPerSecond / 10;
    case Disruption.Full:
      return 0;
  }
}

/**
 * Mass disconnect: at least `fraction` of the nodes (and at least two) lost their connection within
 * `windowMs` of each other — a NATS restart or a network blip, not dead machines. While it holds,
 * advisories are ignored and only leases decide.
 */
export function massDisconnect(disconnectTimes: readonly number[], nodeCount: number, now: number, windowMs: number, fraction: number): boolean {
  const recent = disconnectTimes.filter((t) => now - t <= windowMs).length;
  const population = Math.max(nodeCount, recent);
  return recent >= 2 && recent / population >= fraction;
}

/** A token bucket with an injected clock: `take(now)` spends a token if one is there. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private ratePerSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }
  setRate(ratePerSecond: number, now: number): void {
    this.refill(now);
    this.ratePerSecond = ratePerSecond;
  }
  private refill(now: number): void {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
    this.last = now;
  }
  take(now: number): boolean {
    this.refill(now);
    if (this.ratePerSecond <= 0 || this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
  /** Ms until the next token (Infinity at rate 0). */
  waitMs(now: number): number {
    this.refill(now);
    if (this.ratePerSecond <= 0) return Infinity;
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000);
  }
}
