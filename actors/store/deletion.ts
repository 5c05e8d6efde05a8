/**
 * What a delete does to an object (pure): remove it now, or mark it (`deletionTimestamp`) and let
 * its finalizers — or, for a running pod, its kubelet — finish the job.
 */
import type { KubeObject, DeleteOptions, Pod } from "../../bus/resources.ts";
import type { ResourceType } from "../../bus/kinds.ts";
import { rfc3339 as ts } from "../../bus/time.ts";

export type DeletePlan = { action: "remove" | "mark" | "none"; object: KubeObject };

export const FOREGROUND_FINALIZER = "foregroundDeletion";
export const ORPHAN_FINALIZER = "orphan";
export const NAMESPACE_FINALIZER = "kubernetes";


function podIsTerminal(p: Pod): boolean {
  return p.status?.phase === "Succeeded" || p.status?.phase === "Failed";
}

export function planDelete(rt: ResourceType, old: KubeObject, options: DeleteOptions, now: Date): DeletePlan {
  const meta = { ...old.metadata };
  const finalizers = new Set(meta.finalizers ?? []);
  if (options.propagationPolicy === "Foreground") finalizers.add(FOREGROUND_FINALIZER);
  if (options.propagationPolicy === "Orphan") finalizers.add(ORPHAN_FINALIZER);

  if (rt.resource === "namespaces") {
    if (meta.deletionTimestamp) return { action: "none", object: old };
    const spec = { ...(old.spec as object), finalizers: [NAMESPACE_FINALIZER] };
    return {
      action: "mark",
      object: { ...old, spec, status: { ...(old.status as object), phase: "Terminating" }, metadata: { ...meta, deletionTimestamp: ts(now), deletionGracePeriodSeconds: 0, finalizers: [...finalizers] } },
    };
  }

  // Graceful pod deletion: a pod running on a node is stopped by its kubelet, which then removes it.
  if (rt.resource === "pods") {
    const pod = old as Pod;
    const grace = options.gracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
    const graceful = !!pod.spec.nodeName && !podIsTerminal(pod) && grace > 0;
    if (graceful) {
      if (meta.deletionTimestamp && (meta.deletionGracePeriodSeconds ?? 0) <= grace) {
        return finalizers.size > (meta.finalizers?.length ?? 0) ? { action: "mark", object: { ...old, metadata: { ...meta, finalizers: [...finalizers] } } } : { action: "none", object: old };
      }
      const at = new Date(now.getTime() + grace * 1000);
      return {
        action: "mark",
        object: { ...old, metadata: { ...meta, deletionTimestamp: ts(at), deletionGracePeriodSeconds: grace, ...(finalizers.size ? { finalizers: [...finalizers] } : {}) } },
      };
    }
  }

  if (finalizers.size > 0) {
    if (meta.deletionTimestamp && finalizers.size === (meta.finalizers?.length ?? 0)) return { action: "none", object: old };
    return {
      action: "mark",
      object: { ...old, metadata: { ...meta, deletionTimestamp: meta.deletionTimestamp ?? ts(now), deletionGracePeriodSeconds: 0, finalizers: [...finalizers] } },
    };
  }
  return { action: "remove", object: { ...old, metadata: { ...meta, deletionTimestamp: meta.deletionTimestamp ?? ts(now), deletionGracePeriodSeconds: meta.deletionGracePeriodSeconds ?? 0 } } };
}
