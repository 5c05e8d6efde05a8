/**
 * What an update or patch writes (pure), beside `planDelete`: the change applied to the stored
 * object, the system's metadata carried over, status kept or replaced by subresource, the generation
 * bumped on a spec change, admission, and whether the write is really the object's removal (its last
 * finalizer gone while it is being deleted).
 *
 * @example
 *   const plan = planUpdate(rt, stored, { type: "replace", object: body }, { now: () => new Date() });
 *   // plan.action "write" (CAS on stored's revision) or "remove"
 */
import type { KubeObject } from "../../bus/resources.ts";
import type { ResourceType } from "../../bus/kinds.ts";
import type { PatchType, Subresource } from "../../bus/store-protocol.ts";
import { match } from "ts-pattern";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { toScale, fromScale } from "../../bus/scale.ts";
import { admit } from "./admission/index.ts";
import { applyPatch, patchPrecondition, withManagedFields } from "./patch.ts";

export type UpdateInput =
  | { type: "replace"; object: KubeObject }
  | { type: "patch"; patchType: PatchType; patch: unknown; fieldManager?: string };

export interface UpdateOptions {
  subresource?: Subresource;
  now: () => Date;
  defaultTolerationSeconds?: number;
}

/** `write`: CAS-write `object` on the stored revision; `remove`: delete it (last finalizer gone). */
export type UpdatePlan = { action: "write" | "remove"; object: KubeObject };

/** The resourceVersion the caller pinned (a stale one is a Conflict; none means "the latest"). */
export function preconditionOf(input: UpdateInput): string | undefined {
  return match(input)
    .with({ type: "replace" }, (i) => i.object.metadata.resourceVersion || undefined)
    .with({ type: "patch" }, (i) => patchPrecondition(i.patch, i.patchType))
    .exhaustive();
}

export function planUpdate(rt: ResourceType, old: KubeObject, input: UpdateInput, o: UpdateOptions): UpdatePlan {
  const status = o.subresource === "status";
  const changed = change(rt, old, input, o);
  let obj: KubeObject = {
    ...changed,
    apiVersion: old.apiVersion,
    kind: old.kind,
    metadata: {
      ...changed.metadata,
      name: old.metadata.name,
      namespace: old.metadata.namespace,
      uid: old.metadata.uid,
      creationTimestamp: old.metadata.creationTimestamp,
      generation: old.metadata.generation,
      deletionTimestamp: old.metadata.deletionTimestamp,
      deletionGracePeriodSeconds: old.metadata.deletionGracePeriodSeconds,
    },
  };
  for (const k of ["deletionTimestamp", "deletionGracePeriodSeconds", "generation", "namespace"] as const) {
    if (obj.metadata[k] === undefined) delete obj.metadata[k];
  }
  if (status) {
    obj = { ...old, status: obj.status, metadata: old.metadata };
  } else if (rt.subresources.includes("status") && rt.resource !== "namespaces") {
    // The main resource never changes status (the status subresource does).
    obj.status = old.status;
    if (obj.status === undefined) delete obj.status;
  }
  if (!status && JSON.stringify(obj.spec) !== JSON.stringify(old.spec) && old.metadata.generation !== undefined) {
    obj.metadata.generation = old.metadata.generation + 1;
  }
  obj = admit(rt, obj, { now: o.now, operation: status ? "status" : "update", old, options: { defaultTolerationSeconds: o.defaultTolerationSeconds } });
  // The last finalizer gone from an object being deleted: it goes now.
  const hadFinalizers = (old.metadata.finalizers?.length ?? 0) > 0 || hasSpecFinalizers(old);
  if (obj.metadata.deletionTimestamp && hadFinalizers && !obj.metadata.finalizers?.length && !hasSpecFinalizers(obj)) return { action: "remove", object: obj };
  return { action: "write", object: obj };
}

/** The object the caller asked for, before the store's own fields are put back. */
function change(rt: ResourceType, old: KubeObject, input: UpdateInput, o: UpdateOptions): KubeObject {
  const scale = o.subresource === "scale";
  return match(input)
    .with({ type: "replace" }, ({ object }) => {
      if (scale) return fromScale(old, object as { spec?: { replicas?: number } });
      if (o.subresource === "status") return { ...old, status: object.status };
      return object;
    })
    .with({ type: "patch" }, ({ patchType, patch, fieldManager }) => {
      const base: KubeObject = scale ? toScale(old) : old;
      const patched = applyPatch(base, patchType, patch, scale ? "Scale" : rt.kind) as KubeObject;
      if (!patched || typeof patched !== "object" || Array.isArray(patched)) throw new FlotillaError(ErrorCode.BadRequest, "the patch does not produce an object");
      if (scale) return fromScale(old, patched as { spec?: { replicas?: number } });
      if (o.subresource === "status") return { ...old, status: patched.status };
      const next = patchType === "apply" ? withManagedFields(patched, fieldManager, o.now()) : patched;
      return { ...next, metadata: { ...next.metadata, resourceVersion: undefined } };
    })
    .exhaustive();
}

/** A Namespace's `spec.finalizers` hold it like metadata.finalizers hold any object. */
export function hasSpecFinalizers(o: KubeObject): boolean {
  return o.kind === "Namespace" && ((o.spec as { finalizers?: string[] } | undefined)?.finalizers?.length ?? 0) > 0;
}
