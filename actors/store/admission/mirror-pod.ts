/**
 * Mirror pods (a kubelet's static pods published in the API) are read-only: their spec follows the
 * manifest file on the node, so an update may not change it, and the `kubernetes.io/config.mirror`
 * annotation can be neither added nor removed nor changed (Kubernetes' ValidatePodUpdate and its
 * immutable mirror annotation). Metadata such as labels may still change; the status belongs to
 * the kubelet; deleting one is allowed (its kubelet publishes it again).
 */
import type { Cause } from "../../../bus/errors.ts";
import type { KubeObject } from "../../../bus/resources.ts";
import { path, invalid, forbidden, deepEqual, rec } from "./field.ts";

export const MIRROR_ANNOTATION = "kubernetes.io/config.mirror";

export function validateMirrorPodUpdate(obj: KubeObject, old: KubeObject): Cause[] {
  const next = obj.metadata.annotations?.[MIRROR_ANNOTATION];
  const prev = old.metadata.annotations?.[MIRROR_ANNOTATION];
  const errs: Cause[] = [];
  if (next !== prev) errs.push(invalid(path("metadata", "annotations").key(MIRROR_ANNOTATION), next ?? "", "field is immutable"));
  if (prev !== undefined && !deepEqual(rec(obj.spec), rec(old.spec))) {
    const node = String(rec(old.spec).nodeName ?? "");
    errs.push(forbidden(path("spec"), `a mirror pod is read-only: its spec follows the static pod manifest on node "${node}"; edit that file instead`));
  }
  return errs;
}
