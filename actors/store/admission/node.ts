/** Cluster-scoped core kinds: Node (ValidateNode, SetDefaults_NodeStatus) and Namespace. */
import type { Cause } from "../../../bus/errors.ts";
import type { KubeObject } from "../../../bus/resources.ts";
import type { Admitter } from "./types.ts";
import { isQuantity, parseQuantity } from "../../../bus/quantity.ts";
import { type Path, path, invalid, required, duplicate, notSupported, forbidden, wrongType, isRec, rec, arr, str } from "./field.ts";
import { nameIsDNSSubdomain, nameIsDNSLabel, isQualifiedName, isValidLabelValue, isValidCIDR } from "./names.ts";
import { TAINT_EFFECTS } from "./tolerations.ts";

const CONDITION_STATUSES = ["False", "True", "Unknown"] as const;

function validateTaints(taints: unknown, p: Path): Cause[] {
  const errs = wrongType(p, taints, "array");
  const seen = new Set<string>();
  arr(taints).forEach((raw, i) => {
    const t = rec(raw);
    const tp = p.index(i);
    for (const m of isQualifiedName(str(t.key))) errs.push(invalid(tp.child("key"), t.key ?? "", m));
    const value = str(t.value);
    const msgs = isValidLabelValue(value);
    if (msgs.length) errs.push(invalid(tp.child("value"), value, msgs.join(";")));
    if (!str(t.effect)) errs.push(required(tp.child("effect")));
    else if (!(TAINT_EFFECTS as readonly unknown[]).includes(t.effect)) errs.push(notSupported(tp.child("effect"), t.effect, TAINT_EFFECTS));
    const key = `${str(t.key)}:${str(t.effect)}`;
    if (seen.has(key)) errs.push(duplicate(tp, raw, "taints must be unique by key and effect pair"));
    seen.add(key);
  });
  return errs;
}

function validateResourceList(list: unknown, p: Path): Cause[] {
  const errs = wrongType(p, list, "object");
  for (const [name, q] of Object.entries(rec(list))) {
    const kp = p.key(name);
    for (const m of isQualifiedName(name)) errs.push(invalid(kp, name, m));
    if (!isQuantity(q)) errs.push(invalid(kp, q, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"));
    else if (parseQuantity(q as string) < 0) errs.push(invalid(kp, q, "must be greater than or equal to 0"));
  }
  return errs;
}

function validateNodeStatus(status: unknown, p: Path): Cause[] {
  if (status === undefined || status === null) return [];
  if (!isRec(status)) return wrongType(p, status, "object");
  const errs = [...validateResourceList(status.capacity, p.child("capacity")), ...validateResourceList(status.allocatable, p.child("allocatable"))];
  errs.push(...wrongType(p.child("addresses"), status.addresses, "array"));
  arr(status.addresses).forEach((raw, i) => {
    const a = rec(raw);
    if (!str(a.type)) errs.push(required(p.child("addresses").index(i).child("type")));
    if (!str(a.address)) errs.push(required(p.child("addresses").index(i).child("address")));
  });
  errs.push(...wrongType(p.child("conditions"), status.conditions, "array"));
  arr(status.conditions).forEach((raw, i) => {
    const c = rec(raw);
    const cp = p.child("conditions").index(i);
    if (!str(c.type)) errs.push(required(cp.child("type")));
    if (!(CONDITION_STATUSES as readonly unknown[]).includes(c.status)) errs.push(notSupported(cp.child("status"), c.status ?? "", CONDITION_STATUSES));
  });
  return errs;
}

/** SetDefaults_NodeStatus: allocatable is the capacity unless the kubelet says otherwise. */
function defaultNodeStatus(obj: KubeObject): void {
  const status = rec(obj.status);
  if (isRec(obj.status) && status.allocatable === undefined && isRec(status.capacity)) status.allocatable = { ...status.capacity };
}

export const nodeAdmitter: Admitter = {
  nameFn: nameIsDNSSubdomain,
  defaults(obj) {
    obj.spec ??= {};
    defaultNodeStatus(obj);
  },
  validate(obj) {
    const p = path("spec");
    const errs = wrongType(p, obj.spec, "object");
    const spec = rec(obj.spec);
    errs.push(...validateTaints(spec.taints, p.child("taints")));
    if (str(spec.podCIDR)) for (const m of isValidCIDR(str(spec.podCIDR))) errs.push(invalid(p.child("podCIDR"), spec.podCIDR, m));
    errs.push(...wrongType(p.child("unschedulable"), spec.unschedulable, "boolean"));
    // Nodes register with their status: it is validated on create too.
    errs.push(...validateNodeStatus(obj.status, path("status")));
    return errs;
  },
  validateUpdate(obj, old) {
    const before = str(rec(old.spec).podCIDR);
    if (before && str(rec(obj.spec).podCIDR) !== before)
      return [forbidden(path("spec", "podCIDR"), 'node updates may not change podCIDR except from "" to valid')];
    return [];
  },
  defaultStatus: defaultNodeStatus,
  validateStatus: (obj) => validateNodeStatus(obj.status, path("status")),
};

const NS_PHASES = ["Active", "Terminating"] as const;
/** Kubernetes labels every namespace with its own name. */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

function validateNamespacePhase(obj: KubeObject): Cause[] {
  const phase = rec(obj.status).phase;
  const p = path("status", "phase");
  if (!(NS_PHASES as readonly unknown[]).includes(phase)) return [notSupported(p, phase ?? "", NS_PHASES)];
  const deleting = Boolean(obj.metadata.deletionTimestamp);
  if (!deleting && phase !== "Active") return [invalid(p, phase, "may only be in active status if it does not have a deletion timestamp.")];
  if (deleting && phase !== "Terminating") return [invalid(p, phase, "may only be in terminating status if it has a deletion timestamp.")];
  return [];
}

export const namespaceAdmitter: Admitter = {
  nameFn: nameIsDNSLabel,
  defaults(obj) {
    const name = str(obj.metadata.name);
    if (name) obj.metadata.labels = { ...rec(obj.metadata.labels), [NAMESPACE_NAME_LABEL]: name } as Record<string, string>;
  },
  prepareCreate(obj) {
    obj.status = { phase: "Active" };
  },
  validate(obj) {
    const errs = wrongType(path("spec"), obj.spec, "object");
    arr(rec(obj.spec).finalizers).forEach((f, i) => {
      for (const m of isQualifiedName(str(f))) errs.push(invalid(path("spec", "finalizers").index(i), f, m));
    });
    return errs;
  },
  defaultStatus(obj) {
    if (isRec(obj.status)) obj.status.phase ??= "Active";
    else obj.status = { phase: "Active" };
  },
  validateStatus: validateNamespacePhase,
};
