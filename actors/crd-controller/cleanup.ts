/**
 * The CRD cleanup decision (apiextensions' finalizing controller, pure): a CustomResourceDefinition
 * being deleted first has every object of its kind deleted, then loses its cleanup finalizer, so
 * the store removes it. Objects still present after their delete was sent are looked at again
 * shortly (some wait on finalizers of their own).
 */
import type { KubeObject } from "../../bus/resources.ts";
import type { CustomResourceDefinition } from "../../bus/crd.ts";
import type { Decision } from "../../runtime/controller.ts";
import { CRD_CLEANUP_FINALIZER } from "../../bus/crd.ts";

export interface CleanupView {
  crd: CustomResourceDefinition | undefined;
  /** The objects of the CRD's kind (read only while it is being deleted). */
  objects: KubeObject[];
}

export type CleanupCommand =
  | { type: "object.delete"; resource: string; namespace?: string; name: string }
  | { type: "crd.finalize"; crd: CustomResourceDefinition };

export const CLEANUP_RECHECK_MS = 500;

export function reconcileCleanup(view: CleanupView): Decision<CleanupCommand> {
  const crd = view.crd;
  if (!crd?.metadata.deletionTimestamp || !(crd.metadata.finalizers ?? []).includes(CRD_CLEANUP_FINALIZER)) return { commands: [] };
  const live = view.objects.filter((o) => !o.metadata.deletionTimestamp);
  if (view.objects.length === 0) return { commands: [{ type: "crd.finalize", crd }] };
  return {
    commands: live.map((o) => ({
      type: "object.delete" as const,
      resource: crd.spec.names.plural,
      ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
      name: o.metadata.name!,
    })),
    requeueAfterMs: CLEANUP_RECHECK_MS,
  };
}
