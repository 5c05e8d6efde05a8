/**
 * Storage kinds: PersistentVolume, PersistentVolumeClaim and StorageClass (defaults, validation and
 * the immutable fields of Kubernetes' pkg/apis/core/validation and pkg/apis/storage/validation).
 */
import type { Cause } from "../../../bus/errors.ts";
import type { KubeObject } from "../../../bus/resources.ts";
import type { Admitter } from "./types.ts";
import { isQuantity } from "../../../bus/quantity.ts";
import { ACCESS_MODES, BindingMode, ReclaimPolicy, VolumePhase, ClaimPhase } from "../../../bus/storage.ts";
import { type Path, path, invalid, required, notSupported, forbidden, isRec, rec, str, arr, deepEqual } from "./field.ts";
import { nameIsDNSSubdomain } from "./names.ts";
import { validateLabelSelector } from "./meta.ts";

/** The volume sources a PersistentVolume may name; exactly one is required. */
const PV_SOURCES = ["hostPath", "local", "nfs", "csi", "iscsi", "fc", "rbd", "cephfs", "cinder", "glusterfs", "flexVolume", "azureDisk", "azureFile", "awsElasticBlockStore", "gcePersistentDisk", "vsphereVolume", "portworxVolume", "scaleIO", "storageos", "photonPersistentDisk", "quobyte", "flocker"];
const VOLUME_MODES = ["Block", "Filesystem"];
const RECLAIM = Object.values(ReclaimPolicy);
const BINDING = Object.values(BindingMode);

function accessModes(v: unknown, p: Path): Cause[] {
  if (!Array.isArray(v) || v.length === 0) return [required(p, "at least 1 access mode is required")];
  const errs = v.filter((m) => !(ACCESS_MODES as readonly unknown[]).includes(m)).map((m) => notSupported(p, m, ACCESS_MODES));
  if (v.includes("ReadWriteOncePod") && v.length > 1) errs.push(forbidden(p, "may not use ReadWriteOncePod with other access modes"));
  return errs;
}

function storageQuantity(v: unknown, p: Path): Cause[] {
  if (v === undefined) return [required(p)];
  if (!isQuantity(v)) return [invalid(p, v, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")];
  if (String(v).trim().startsWith("-") || Number.parseFloat(String(v)) === 0) return [invalid(p, v, "must be greater than zero")];
  return [];
}

const sourcesOf = (spec: Record<string, unknown>) => PV_SOURCES.filter((k) => spec[k] !== undefined && spec[k] !== null);

export const persistentVolumeAdmitter: Admitter = {
  nameFn: nameIsDNSSubdomain,
  defaults(o) {
    const spec = isRec(o.spec) ? o.spec : (o.spec = {});
    spec.persistentVolumeReclaimPolicy ??= ReclaimPolicy.Retain;
    spec.volumeMode ??= "Filesystem";
    if (isRec(spec.hostPath)) spec.hostPath.type ??= "";
  },
  prepareCreate(o) {
    o.status = { phase: VolumePhase.Pending };
  },
  validate(o) {
    const spec = rec(o.spec);
    const errs: Cause[] = [];
    if (!isRec(spec.capacity)) errs.push(required(path("spec", "capacity")));
    else errs.push(...storageQuantity(spec.capacity.storage, path("spec", "capacity").key("storage")));
    errs.push(...accessModes(spec.accessModes, path("spec", "accessModes")));
    if (!RECLAIM.includes(str(spec.persistentVolumeReclaimPolicy) as ReclaimPolicy)) errs.push(notSupported(path("spec", "persistentVolumeReclaimPolicy"), spec.persistentVolumeReclaimPolicy, RECLAIM));
    if (!VOLUME_MODES.includes(str(spec.volumeMode))) errs.push(notSupported(path("spec", "volumeMode"), spec.volumeMode, VOLUME_MODES));
    const sources = sourcesOf(spec);
    if (sources.length === 0) errs.push(required(path("spec"), "must specify a volume type"));
    else if (sources.length > 1) errs.push(forbidden(path("spec", sources[1]!), "may not specify more than 1 volume type"));
    if (spec.hostPath !== undefined && !str(rec(spec.hostPath).path)) errs.push(required(path("spec", "hostPath", "path")));
    if (spec.local !== undefined) {
      if (!str(rec(spec.local).path)) errs.push(required(path("spec", "local", "path")));
      if (!isRec(rec(spec.nodeAffinity).required)) errs.push(required(path("spec", "nodeAffinity"), "Local volume requires node affinity"));
    }
    if (spec.nodeAffinity !== undefined) {
      const terms = rec(rec(spec.nodeAffinity).required).nodeSelectorTerms;
      if (isRec(rec(spec.nodeAffinity).required) && (!Array.isArray(terms) || terms.length === 0)) errs.push(required(path("spec", "nodeAffinity", "required", "nodeSelectorTerms"), "must have at least one node selector term"));
    }
    const ref = spec.claimRef;
    if (ref !== undefined && ref !== null && (!isRec(ref) || !str(ref.name))) errs.push(required(path("spec", "claimRef", "name")));
    return errs;
  },
  validateUpdate(o, old) {
    const spec = rec(o.spec);
    const was = rec(old.spec);
    const errs: Cause[] = [];
    const src = (s: Record<string, unknown>) => Object.fromEntries(sourcesOf(s).map((k) => [k, s[k]]));
    if (!deepEqual(src(spec), src(was))) errs.push(forbidden(path("spec", "persistentvolumesource"), "spec.persistentvolumesource is immutable after creation"));
    if (was.nodeAffinity !== undefined && !deepEqual(spec.nodeAffinity, was.nodeAffinity)) errs.push(forbidden(path("spec", "nodeAffinity"), "field is immutable"));
    if (!deepEqual(spec.volumeMode, was.volumeMode)) errs.push(forbidden(path("spec", "volumeMode"), "field is immutable"));
    return errs;
  },
  validateStatus(o) {
    const phase = rec(o.status).phase;
    const phases = Object.values(VolumePhase);
    return phase === undefined || phases.includes(phase as VolumePhase) ? [] : [notSupported(path("status", "phase"), phase, phases)];
  },
};

/** ValidatePersistentVolumeClaimSpec: a claim's spec, or a claim template's (StatefulSet volumeClaimTemplates). */
export function validateClaimSpec(raw: unknown, p: Path): Cause[] {
  const spec = rec(raw);
  const errs = accessModes(spec.accessModes, p.child("accessModes"));
  errs.push(...storageQuantity(rec(rec(spec.resources).requests).storage, p.child("resources").key("storage")));
  if (spec.volumeMode !== undefined && !VOLUME_MODES.includes(str(spec.volumeMode))) errs.push(notSupported(p.child("volumeMode"), spec.volumeMode, VOLUME_MODES));
  if (spec.selector !== undefined) errs.push(...validateLabelSelector(spec.selector, p.child("selector")));
  if (spec.storageClassName !== undefined && spec.storageClassName !== null && typeof spec.storageClassName !== "string") errs.push(invalid(p.child("storageClassName"), spec.storageClassName, "must be a string"));
  return errs;
}

export const persistentVolumeClaimAdmitter: Admitter = {
  nameFn: nameIsDNSSubdomain,
  defaults(o) {
    const spec = isRec(o.spec) ? o.spec : (o.spec = {});
    spec.volumeMode ??= "Filesystem";
  },
  prepareCreate(o) {
    o.status = { phase: ClaimPhase.Pending };
  },
  validate: (o) => validateClaimSpec(o.spec, path("spec")),
  validateUpdate(o, old) {
    const spec = { ...rec(o.spec) };
    const was = { ...rec(old.spec) };
    // Binding (volumeName) and the retroactive default class (storageClassName) may be set once.
    if (!str(was.volumeName)) was.volumeName = spec.volumeName;
    if (was.storageClassName === undefined || was.storageClassName === null) was.storageClassName = spec.storageClassName;
    // Requests may grow (expansion); everything else is fixed.
    const strip = (s: Record<string, unknown>) => ({ ...s, resources: { ...rec(s.resources), requests: undefined } });
    if (!deepEqual(strip(spec), strip(was))) {
      return [forbidden(path("spec"), "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims")];
    }
    return [];
  },
  validateStatus(o) {
    const phase = rec(o.status).phase;
    const phases = Object.values(ClaimPhase);
    return phase === undefined || phases.includes(phase as ClaimPhase) ? [] : [notSupported(path("status", "phase"), phase, phases)];
  },
};

export const storageClassAdmitter: Admitter = {
  nameFn: nameIsDNSSubdomain,
  defaults(o: KubeObject) {
    o.reclaimPolicy ??= ReclaimPolicy.Delete;
    o.volumeBindingMode ??= BindingMode.Immediate;
  },
  validate(o) {
    const errs: Cause[] = [];
    if (!str(o.provisioner)) errs.push(required(path("provisioner")));
    if (!["Retain", "Delete"].includes(str(o.reclaimPolicy))) errs.push(notSupported(path("reclaimPolicy"), o.reclaimPolicy, ["Delete", "Retain"]));
    if (!BINDING.includes(str(o.volumeBindingMode) as BindingMode)) errs.push(notSupported(path("volumeBindingMode"), o.volumeBindingMode, BINDING));
    if (o.parameters !== undefined && !isRec(o.parameters)) errs.push(invalid(path("parameters"), o.parameters, "must be a map of strings"));
    if (o.allowVolumeExpansion !== undefined && typeof o.allowVolumeExpansion !== "boolean") errs.push(invalid(path("allowVolumeExpansion"), o.allowVolumeExpansion, "must be a boolean"));
    for (const [i, m] of arr(o.mountOptions).entries()) if (typeof m !== "string") errs.push(invalid(path("mountOptions").index(i), m, "must be a string"));
    return errs;
  },
  validateUpdate(o, old) {
    const errs: Cause[] = [];
    for (const f of ["parameters", "provisioner", "reclaimPolicy", "volumeBindingMode"]) {
      if (!deepEqual(o[f], old[f])) errs.push(forbidden(path(f), `updates to ${f} are forbidden.`));
    }
    return errs;
  },
};
