/**
 * Admission: the store calls `admit()` before every write. It returns the defaulted copy of the
 * object, or throws a FlotillaError (Invalid with Kubernetes-shaped causes; RequestEntityTooLarge;
 * BadRequest for a body of the wrong kind). Pure: no I/O, the clock comes from the context.
 *
 * @example
 *   const stored = admit(resourceType("pods")!, body, { now: () => new Date(), operation: "create" });
 */
import type { Cause } from "../../../bus/errors.ts";
import type { KubeObject } from "../../../bus/resources.ts";
import type { ResourceType } from "../../../bus/kinds.ts";
import type { AdmissionContext, Admitter } from "./types.ts";
import { FlotillaError, ErrorCode } from "../../../bus/errors.ts";
import { apiVersionOf } from "../../../bus/kinds.ts";
import { causeText, deepEqual, isRec, isInt } from "./field.ts";
import { nameIsDNSSubdomain } from "./names.ts";
import { validateObjectMeta, validateObjectMetaUpdate, carryMetaOnUpdate } from "./meta.ts";
import { podAdmitter } from "./pod.ts";
import { deploymentAdmitter, replicaSetAdmitter, replicationControllerAdmitter } from "./workloads.ts";
import { daemonSetAdmitter, statefulSetAdmitter, controllerRevisionAdmitter } from "./apps.ts";
import { jobAdmitter, cronJobAdmitter } from "./batch.ts";
import { serviceAdmitter, endpointsAdmitter } from "./service.ts";
import { nodeAdmitter, namespaceAdmitter } from "./node.ts";
import { configMapAdmitter, secretAdmitter, eventAdmitter, leaseAdmitter } from "./misc.ts";
import { roleAdmitter, clusterRoleAdmitter, roleBindingAdmitter, clusterRoleBindingAdmitter } from "./rbac.ts";
import { customAdmitter, crdAdmitter, acceptCRD } from "./custom.ts";
import { quotaAdmitter, limitRangeAdmitter, pdbAdmitter } from "./policy.ts";
import { persistentVolumeAdmitter, persistentVolumeClaimAdmitter, storageClassAdmitter } from "./storage.ts";
import { hpaAdmitter } from "./autoscaling.ts";
import { ingressAdmitter, ingressClassAdmitter, networkPolicyAdmitter, endpointSliceAdmitter } from "./networking.ts";

export type { AdmissionContext, Admitter } from "./types.ts";
export { DEFAULT_TOLERATION_SECONDS } from "./tolerations.ts";

/** The largest object the store accepts, in bytes of JSON (etcd's default request limit). */
export const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;

const ADMITTERS: Readonly<Record<string, Admitter>> = {
  Pod: podAdmitter,
  Deployment: deploymentAdmitter,
  ReplicaSet: replicaSetAdmitter,
  ReplicationController: replicationControllerAdmitter,
  DaemonSet: daemonSetAdmitter,
  StatefulSet: statefulSetAdmitter,
  ControllerRevision: controllerRevisionAdmitter,
  Job: jobAdmitter,
  CronJob: cronJobAdmitter,
  Service: serviceAdmitter,
  Endpoints: endpointsAdmitter,
  Node: nodeAdmitter,
  Namespace: namespaceAdmitter,
  ConfigMap: configMapAdmitter,
  Secret: secretAdmitter,
  Event: eventAdmitter,
  Lease: leaseAdmitter,
  Role: roleAdmitter,
  ClusterRole: clusterRoleAdmitter,
  RoleBinding: roleBindingAdmitter,
  ClusterRoleBinding: clusterRoleBindingAdmitter,
  CustomResourceDefinition: { ...crdAdmitter, defaults: (o, ctx) => {
    crdAdmitter.defaults?.(o, ctx);
    if (ctx.operation === "update") acceptCRD(o, ctx.old, ctx.now());
  } },
  ResourceQuota: quotaAdmitter,
  LimitRange: limitRangeAdmitter,
  PodDisruptionBudget: pdbAdmitter,
  PersistentVolume: persistentVolumeAdmitter,
  PersistentVolumeClaim: persistentVolumeClaimAdmitter,
  StorageClass: storageClassAdmitter,
  HorizontalPodAutoscaler: hpaAdmitter,
  Ingress: ingressAdmitter,
  IngressClass: ingressClassAdmitter,
  NetworkPolicy: networkPolicyAdmitter,
  EndpointSlice: endpointSliceAdmitter,
};
/** Kinds admission has no rules for get metadata checks only and are otherwise left untouched. */
const GENERIC: Admitter = { nameFn: nameIsDNSSubdomain, validate: () => [] };

export function admitterFor(kind: string): Admitter {
  return ADMITTERS[kind] ?? GENERIC;
}

/** `Pod "x" is invalid: …` — one cause bare, several in brackets, as Kubernetes' aggregate prints them. */
export function invalidError(rt: ResourceType, name: string, causes: Cause[]): FlotillaError {
  const kind = rt.group ? `${rt.kind}.${rt.group}` : rt.kind;
  const texts = causes.map(causeText);
  const body = texts.length === 1 ? texts[0]! : `[${texts.join(", ")}]`;
  return new FlotillaError(ErrorCode.Invalid, `${kind} ${JSON.stringify(name)} is invalid: ${body}`, {
    details: { name, kind: rt.kind, ...(rt.group ? { group: rt.group } : {}), causes },
  });
}

/** The versions an object of this type may be written at: the one, or every served one of a custom type. */
function acceptedVersions(rt: ResourceType): string[] {
  return rt.custom ? rt.custom.versions.map((v) => apiVersionOf({ ...rt, version: v.name })) : [apiVersionOf(rt)];
}

/** Checks kind, version and size; returns the object's JSON (admission works on a copy parsed from it). */
function checkEnvelope(rt: ResourceType, obj: unknown): string {
  const details = { kind: rt.kind, ...(rt.group ? { group: rt.group } : {}) };
  if (!isRec(obj)) throw new FlotillaError(ErrorCode.BadRequest, "the object must be a JSON object", { details });
  const json = JSON.stringify(obj);
  const size = Buffer.byteLength(json);
  if (size > MAX_OBJECT_BYTES)
    throw new FlotillaError(ErrorCode.RequestEntityTooLarge, `Request entity too large: limit is ${MAX_OBJECT_BYTES}`, {
      details: { ...details, name: isRec(obj.metadata) ? String(obj.metadata.name ?? "") : "" },
    });
  if (obj.kind !== undefined && obj.kind !== "" && obj.kind !== rt.kind)
    throw new FlotillaError(ErrorCode.BadRequest, `the kind in the data (${String(obj.kind)}) does not match the expected kind (${rt.kind})`, { details });
  const version = apiVersionOf(rt);
  if (obj.apiVersion !== undefined && obj.apiVersion !== "" && !acceptedVersions(rt).includes(String(obj.apiVersion)))
    throw new FlotillaError(ErrorCode.BadRequest, `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${version})`, { details });
  return json;
}

function dedupe(causes: Cause[]): Cause[] {
  const seen = new Set<string>();
  return causes.filter((c) => {
    const k = `${c.field}\u0000${c.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function admit(rt: ResourceType, obj: KubeObject, ctx: AdmissionContext): KubeObject {
  // A copy parsed from the JSON the size check made: cheaper than structuredClone, and the same
  // for what is stored (JSON).
  const out = JSON.parse(checkEnvelope(rt, obj)) as KubeObject;
  // A custom resource is checked against the schema of the version it was written at, stored at the storage version.
  const written = typeof obj.apiVersion === "string" && obj.apiVersion.includes("/") ? obj.apiVersion.slice(obj.apiVersion.lastIndexOf("/") + 1) : rt.version;
  out.apiVersion = apiVersionOf(rt);
  out.kind = rt.kind;
  if (!isRec(out.metadata)) throw invalidError(rt, "", [{ field: "metadata", reason: "FieldValueRequired", message: "Required value" }]);
  const a = rt.custom ? customAdmitter(rt, written) : admitterFor(rt.kind);
  const old = ctx.old;
  const rules = { namespaced: rt.namespaced, nameFn: a.nameFn };
  const hasStatus = rt.subresources.includes("status");
  const causes: Cause[] = [];

  if (ctx.operation === "create") {
    a.defaults?.(out, ctx);
    a.prepareCreate?.(out, ctx);
    if (a.tracksGeneration) out.metadata.generation = 1;
    causes.push(...validateObjectMeta(out, rules), ...a.validate(out, ctx));
  } else if (ctx.operation === "update") {
    if (old) {
      carryMetaOnUpdate(out, old);
      // The status subresource owns status: an ordinary update keeps the stored one.
      if (hasStatus) {
        if (old.status === undefined) delete out.status;
        else out.status = structuredClone(old.status);
      }
    }
    a.defaults?.(out, ctx);
    if (a.tracksGeneration && old) {
      const before = isInt(old.metadata.generation) ? old.metadata.generation : 1;
      out.metadata.generation = deepEqual(out.spec, old.spec) ? before : before + 1;
    }
    causes.push(...validateObjectMeta(out, rules));
    if (old) causes.push(...validateObjectMetaUpdate(out, old));
    causes.push(...a.validate(out, ctx));
    if (old && a.validateUpdate) causes.push(...a.validateUpdate(out, old, ctx));
  } else {
    if (!hasStatus) throw new FlotillaError(ErrorCode.NotFound, `the server could not find the requested resource (${rt.resource}/status)`);
    if (old) {
      carryMetaOnUpdate(out, old);
      // A status write changes status only: the spec stays as stored.
      if (old.spec === undefined) delete out.spec;
      else out.spec = structuredClone(old.spec);
      if (a.tracksGeneration && old.metadata.generation !== undefined) out.metadata.generation = old.metadata.generation;
    }
    a.defaultStatus?.(out, ctx);
    causes.push(...validateObjectMeta(out, rules));
    if (old) causes.push(...validateObjectMetaUpdate(out, old));
    if (a.validateStatus) causes.push(...a.validateStatus(out, old, ctx));
  }
  if (causes.length) throw invalidError(rt, String(out.metadata.name ?? out.metadata.generateName ?? ""), dedupe(causes));
  return out;
}
