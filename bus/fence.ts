/**
 * Fencing for leader-elected actors. A leader's store writes carry the term they rely on: the
 * Lease `kube-system/<lease>` held by `holder` at transition number `term`. The store refuses a
 * fenced write once the Lease names anyone or any term else, so a write that was delayed on the
 * way (a frozen network, a reconnect buffer) cannot land after a new leader took over.
 */
export const LEADER_NAMESPACE = "kube-system";

export interface Fence {
  lease: string;
  holder: string;
  /** The Lease's `leaseTransitions` when this holder acquired it (bumped on every acquisition). */
  term: number;
}

/** One term of leadership, as a fenced store client sees it. */
export interface FenceGuard {
  fence: Fence;
  /** Aborted the moment the term ends (step-down, lost lease, stop). */
  signal: AbortSignal;
  /** Milliseconds (monotonic) until the leader must stop acting unless it renews; ≤ 0 when over. */
  remainingMs(): number;
}

/** A Fence as it arrives on the wire, or the reason it is malformed. */
export function fenceProblem(v: unknown): string | undefined {
  if (typeof v !== "object" || v === null) return "fence must be an object";
  const f = v as Record<string, unknown>;
  if (typeof f.lease !== "string" || f.lease === "") return "fence.lease must be a non-empty string";
  if (typeof f.holder !== "string" || f.holder === "") return "fence.holder must be a non-empty string";
  if (typeof f.term !== "number" || !Number.isInteger(f.term) || f.term < 0) return "fence.term must be a non-negative integer";
  return undefined;
}
