/**
 * What a create writes (pure): the request's object with the system's fields — uid, creation time,
 * a generated name, generation 1 — defaulted and validated by admission. Ids and the clock come in
 * through `deps`.
 */
import type { KubeObject } from "../../bus/resources.ts";
import type { ResourceType } from "../../bus/kinds.ts";
import { apiVersionOf } from "../../bus/kinds.ts";
import { rfc3339 as timestamp } from "../../bus/time.ts";
import { admit } from "./admission/index.ts";

export interface CreateDeps {
  now: () => Date;
  uid: () => string;
  /** The random part of a generated name. */
  suffix: () => string;
  defaultTolerationSeconds?: number;
}

/** The object a create stores; `namespace` is the one `resolveTarget` answered. */
export function planCreate(rt: ResourceType, input: KubeObject, namespace: string | undefined, deps: CreateDeps): KubeObject {
  const obj: KubeObject = { ...input, apiVersion: input.apiVersion || apiVersionOf(rt), kind: input.kind || rt.kind };
  obj.metadata = { ...obj.metadata, uid: deps.uid(), creationTimestamp: timestamp(deps.now()) };
  if (namespace) obj.metadata.namespace = namespace;
  else delete obj.metadata.namespace;
  if (isGenerated(input)) obj.metadata.name = `${input.metadata.generateName}${deps.suffix()}`;
  delete obj.metadata.resourceVersion;
  delete obj.metadata.deletionTimestamp;
  delete obj.metadata.deletionGracePeriodSeconds;
  if ("spec" in obj || rt.group === "apps" || rt.resource === "replicationcontrollers") obj.metadata.generation = 1;
  return admit(rt, obj, { now: deps.now, operation: "create", options: { defaultTolerationSeconds: deps.defaultTolerationSeconds } });
}

/** The name is made by the store (so a name clash is worth another try). */
export function isGenerated(input: KubeObject): boolean {
  return !input.metadata.name && !!input.metadata.generateName;
}
