/**
 * The kubelet's self-fencing rule, pure: a node whose Lease has not been renewed for the lease's
 * duration — counted from when the last *successful* renewal was *sent* — stops its pods. Counting
 * from the send time (never later than the write the control plane sees) lets a controller that
 * counts from when it *saw* that renewal know the node has fenced itself by then
 * (actors/statefulset-controller/fence.ts).
 */

/** How often the kubelet checks (part of the fence margin controllers add). */
export const FENCE_CHECK_MS = 250;

export function fenceDue(renewedAt: number, now: number, leaseSeconds: number): boolean {
  return now - renewedAt >= leaseSeconds * 1000;
}
