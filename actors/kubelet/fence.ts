/**
 * The kubelet's self-fencing rule, pure: a node whose Lease has not been renewed for the lease's
 * duration — counted from when the last *successful* renewal was *sent* — stops the pods that must
 * never run twice (`fencedPod`). Counting from the send time (never later than the write the
 * control plane sees) lets a controller that counts from when it *saw* that renewal know the node
 * has fenced itself by then (actors/statefulset-controller/fence.ts).
 *
 * Every other pod keeps running, as a Kubernetes kubelet's do while it cannot reach the API: a
 * control plane that cannot write for longer than the lease (a NATS cluster electing its leaders)
 * would otherwise stop every Deployment's pods in the cluster at once.
 */
import type { Pod } from "../../bus/resources.ts";

/** How often the kubelet checks (part of the fence margin controllers add). */
export const FENCE_CHECK_MS = 250;

export function fenceDue(renewedAt: number, now: number, leaseSeconds: number): boolean {
  return now - renewedAt >= leaseSeconds * 1000;
}

/**
 * Whether a fenced node stops this pod: a StatefulSet's pod (the StatefulSet controller recreates it
 * elsewhere under the same identity once the node's lease + margin have passed), a pod that mounts
 * a PersistentVolumeClaim (its data must have one writer), and a pod the kubelet knows nothing of.
 */
export function fencedPod(pod: Pod | undefined): boolean {
  if (!pod) return true;
  if (pod.metadata.ownerReferences?.some((o) => o.kind === "StatefulSet")) return true;
  return (pod.spec.volumes ?? []).some((v) => v.persistentVolumeClaim !== undefined || (v as { ephemeral?: unknown }).ephemeral !== undefined);
}
