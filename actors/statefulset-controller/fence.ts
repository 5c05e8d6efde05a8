/**
 * When a StatefulSet pod on a silent node may be replaced (a rule Kubernetes does not have:
 * kubernetes#54368 — it never replaces such a pod, because it cannot know the old one stopped).
 *
 * Flotilla's kubelet fences itself: when it has not renewed its node Lease for the lease's
 * duration, counted from the moment it *sent* its last successful renewal, it stops every
 * container of the node (actors/kubelet/fence.ts). This controller counts from the moment it *saw*
 * that renewal, which is later. So once it has seen no renewal for `leaseDurationSeconds` plus a
 * margin (the time the kubelet takes to stop its containers, and clock-rate slack), the old pod is
 * no longer running — and not before. Until then the pod stays, exactly as in Kubernetes.
 *
 * A controller that starts (or becomes leader) has seen nothing: it counts from its own start.
 */

/** What this controller observed of one node's Lease. */
export interface LeaseSeen {
  /** This controller's clock (ms) when it last saw the Lease renewed, or when it began watching. */
  seenAt: number;
  leaseDurationSeconds: number;
}

/** The default margin after the lease: the kubelet's fence check period plus killing its containers. */
export const DEFAULT_FENCE_MARGIN_MS = 5_000;

/** The earliest time (ms) the node's pods are known to be stopped, or undefined if nothing is known of the node. */
export function fencedAt(seen: LeaseSeen | undefined, marginMs: number): number | undefined {
  if (!seen) return undefined;
  return seen.seenAt + seen.leaseDurationSeconds * 1000 + marginMs;
}
