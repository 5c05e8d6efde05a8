/**
 * The one place that checks a request's target against the object it carries: the namespace (the
 * request's, or else the object's) and the name. A mismatch is a 400, as in kube-apiserver. The
 * api-server passes the URL's namespace and name as the target and leaves the checking to this file.
 */
import type { ResourceType } from "../../bus/kinds.ts";
import type { KubeObject } from "../../bus/resources.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { invalidField } from "./errors.ts";

export interface Target {
  namespace?: string;
  /** Absent for a create (the object names itself, or asks for a generated name). */
  name?: string;
}

/** The namespace a namespaced resource is addressed in (undefined for cluster-scoped ones). */
export function namespaceOf(rt: ResourceType, namespace: string | undefined): string | undefined {
  if (!rt.namespaced) return undefined;
  if (!namespace) throw new FlotillaError(ErrorCode.BadRequest, `a namespace is required for ${rt.resource}`);
  return namespace;
}

/** Checks `input` against the target and answers the namespace the object lives in. */
export function resolveTarget(rt: ResourceType, target: Target, input: KubeObject): string | undefined {
  if (!input || typeof input !== "object" || typeof input.metadata !== "object" || input.metadata === null) {
    throw invalidField(rt, target.name ?? input?.metadata?.name, "metadata", "Required value");
  }
  const given = input.metadata.namespace;
  const ns = namespaceOf(rt, target.namespace ?? given);
  if (rt.namespaced && given && given !== ns) {
    throw new FlotillaError(ErrorCode.BadRequest, "the namespace of the provided object does not match the namespace sent on the request");
  }
  if (target.name !== undefined && input.metadata.name && input.metadata.name !== target.name) {
    throw new FlotillaError(ErrorCode.BadRequest, `the name of the object (${input.metadata.name}) does not match the name on the URL (${target.name})`);
  }
  return ns;
}
