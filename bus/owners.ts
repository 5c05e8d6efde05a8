/** Ownership between objects (`metadata.ownerReferences`), shared by every controller that owns objects. */
import type { KubeObject, OwnerReference } from "./resources.ts";

/** The ownerReference with `controller: true`, if any: the one controller that manages the object. */
export function controllerRef(o: KubeObject): OwnerReference | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller === true);
}
