/** ObjectMeta, labels, annotations and label selectors (apimachinery's ValidateObjectMeta family). */
import type { Cause } from "../../../bus/errors.ts";
import type { KubeObject } from "../../../bus/resources.ts";
import { type Path, path, invalid, required, duplicate, forbidden, tooLong, notSupported, wrongType, isRec, isInt, rec, arr, str } from "./field.ts";
import { type NameFn, isQualifiedName, isValidLabelValue, isDNS1123Label } from "./names.ts";

export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

export function validateLabels(labels: unknown, p: Path): Cause[] {
  if (labels === undefined || labels === null) return [];
  if (!isRec(labels)) return wrongType(p, labels, "object");
  const errs: Cause[] = [];
  for (const [k, v] of Object.entries(labels)) {
    for (const m of isQualifiedName(k)) errs.push(invalid(p, k, m));
    if (typeof v !== "string") errs.push(invalid(p, v, "must be a string"));
    else for (const m of isValidLabelValue(v)) errs.push(invalid(p, v, m));
  }
  return errs;
}

export function validateAnnotations(annotations: unknown, p: Path): Cause[] {
  if (annotations === undefined || annotations === null) return [];
  if (!isRec(annotations)) return wrongType(p, annotations, "object");
  const errs: Cause[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) {
    for (const m of isQualifiedName(k.toLowerCase())) errs.push(invalid(p, k, m));
    if (typeof v !== "string") errs.push(invalid(p.key(k), v, "must be a string"));
    size += Buffer.byteLength(k) + Buffer.byteLength(typeof v === "string" ? v : "");
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(tooLong(p, TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

const SELECTOR_OPS = ["DoesNotExist", "Exists", "In", "NotIn"] as const;

/** In/NotIn need values, Exists/DoesNotExist take none (label and node selector requirements alike). */
export function validateOperatorValues(op: string, values: unknown[], p: Path): Cause[] {
  if ((op === "In" || op === "NotIn") && values.length === 0) return [required(p, "must be specified when `operator` is 'In' or 'NotIn'")];
  if ((op === "Exists" || op === "DoesNotExist") && values.length > 0)
    return [forbidden(p, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")];
  return [];
}

/**
 * A list member's name: required (unless `optional`), of the given format, and unique in `seen`.
 * Used for containers, volumes and service/endpoint ports.
 */
export function validateMemberName(name: unknown, p: Path, seen: Set<string>, format: (v: string) => string[], optional = false): Cause[] {
  const n = str(name);
  if (!n) return optional ? [] : [required(p)];
  const errs = format(n).map((m) => invalid(p, n, m));
  if (seen.has(n)) errs.push(duplicate(p, n));
  seen.add(n);
  return errs;
}

/** A LabelSelector (matchLabels + matchExpressions). */
export function validateLabelSelector(sel: unknown, p: Path): Cause[] {
  if (sel === undefined || sel === null) return [];
  if (!isRec(sel)) return wrongType(p, sel, "object");
  const errs = validateLabels(sel.matchLabels, p.child("matchLabels"));
  errs.push(...wrongType(p.child("matchExpressions"), sel.matchExpressions, "array"));
  arr(sel.matchExpressions).forEach((raw, i) => {
    const ep = p.child("matchExpressions").index(i);
    const e = rec(raw);
    const op = str(e.operator);
    const values = arr(e.values);
    if (!(SELECTOR_OPS as readonly string[]).includes(op)) errs.push(notSupported(ep.child("operator"), e.operator ?? "", SELECTOR_OPS));
    else errs.push(...validateOperatorValues(op, values, ep.child("values")));
    for (const m of isQualifiedName(str(e.key))) errs.push(invalid(ep.child("key"), e.key ?? "", m));
    values.forEach((v, j) => {
      for (const m of isValidLabelValue(str(v))) errs.push(invalid(ep.child("values").index(j), v, m));
    });
  });
  return errs;
}

export function isEmptySelector(sel: unknown): boolean {
  const s = rec(sel);
  return Object.keys(rec(s.matchLabels)).length === 0 && arr(s.matchExpressions).length === 0;
}

export interface MetaRules {
  namespaced: boolean;
  nameFn: NameFn;
}

/** ValidateObjectMeta: name or generateName, namespace by scope, labels, annotations, owners, finalizers. */
export function validateObjectMeta(obj: KubeObject, rules: MetaRules, p: Path = path("metadata")): Cause[] {
  if (!isRec(obj.metadata)) return [required(p)];
  const m = obj.metadata as Record<string, unknown>;
  const errs: Cause[] = [];
  for (const f of ["name", "generateName", "namespace", "uid", "resourceVersion", "creationTimestamp"] as const)
    errs.push(...wrongType(p.child(f), m[f], "string"));
  if (errs.length) return errs;
  const name = str(m.name);
  const generateName = str(m.generateName);
  if (generateName) for (const msg of rules.nameFn(generateName, true)) errs.push(invalid(p.child("generateName"), generateName, msg));
  if (!name) {
    if (!generateName) errs.push(required(p.child("name"), "name or generateName is required"));
  } else for (const msg of rules.nameFn(name, false)) errs.push(invalid(p.child("name"), name, msg));
  const ns = str(m.namespace);
  if (rules.namespaced) {
    if (!ns) errs.push(required(p.child("namespace")));
    else for (const msg of isDNS1123Label(ns)) errs.push(invalid(p.child("namespace"), ns, msg));
  } else if (ns) errs.push(forbidden(p.child("namespace"), "not allowed on this type"));
  if (m.generation !== undefined && !(isInt(m.generation) && m.generation >= 0))
    errs.push(invalid(p.child("generation"), m.generation, "must be greater than or equal to 0"));
  errs.push(...validateLabels(m.labels, p.child("labels")));
  errs.push(...validateAnnotations(m.annotations, p.child("annotations")));
  errs.push(...validateOwnerReferences(m.ownerReferences, p.child("ownerReferences")));
  errs.push(...wrongType(p.child("finalizers"), m.finalizers, "array"));
  arr(m.finalizers).forEach((f, i) => {
    for (const msg of isQualifiedName(str(f))) errs.push(invalid(p.child("finalizers").index(i), f, msg));
  });
  return errs;
}

function validateOwnerReferences(refs: unknown, p: Path): Cause[] {
  const errs = wrongType(p, refs, "array");
  let controllers = 0;
  arr(refs).forEach((raw, i) => {
    const r = rec(raw);
    const rp = p.index(i);
    if (!str(r.apiVersion)) errs.push(invalid(rp.child("apiVersion"), r.apiVersion ?? "", "version must not be empty"));
    if (!str(r.kind)) errs.push(invalid(rp.child("kind"), r.kind ?? "", "must not be empty"));
    if (!str(r.name)) errs.push(invalid(rp.child("name"), r.name ?? "", "must not be empty"));
    if (!str(r.uid)) errs.push(invalid(rp.child("uid"), r.uid ?? "", "uid must not be empty"));
    if (r.controller === true) controllers++;
  });
  if (controllers > 1) errs.push(invalid(p, refs, "Only one reference can have Controller set to true"));
  return errs;
}

/**
 * ValidateObjectMetaUpdate, after the system fields are carried over by `carryMetaOnUpdate`:
 * name, namespace and uid never change; an object being deleted takes no new finalizers.
 */
export function validateObjectMetaUpdate(obj: KubeObject, old: KubeObject, p: Path = path("metadata")): Cause[] {
  const errs: Cause[] = [];
  const m = rec(obj.metadata);
  const o = rec(old.metadata);
  for (const f of ["name", "namespace", "uid"] as const)
    if ((m[f] ?? "") !== (o[f] ?? "")) errs.push(invalid(p.child(f), m[f] ?? "", "field is immutable"));
  if (o.deletionTimestamp) {
    const before = new Set(arr(o.finalizers));
    const added = arr(m.finalizers).filter((f) => !before.has(f));
    if (added.length)
      errs.push(forbidden(p.child("finalizers"), `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`));
  }
  return errs;
}

/**
 * Kubernetes' BeforeUpdate: an omitted uid is the old one, the creation stamp is the server's and
 * a deletion stamp, once set, stays (setting one is the store's graceful-deletion path).
 */
export function carryMetaOnUpdate(obj: KubeObject, old: KubeObject): void {
  const m = obj.metadata;
  const o = old.metadata ?? {};
  if (!m.uid && o.uid) m.uid = o.uid;
  if (o.creationTimestamp !== undefined) m.creationTimestamp = o.creationTimestamp;
  if (o.deletionTimestamp !== undefined) {
    m.deletionTimestamp = o.deletionTimestamp;
    if (o.deletionGracePeriodSeconds !== undefined) m.deletionGracePeriodSeconds = o.deletionGracePeriodSeconds;
  }
}

