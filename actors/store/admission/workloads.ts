/** Deployments, ReplicaSets and ReplicationControllers (apps/v1 and core/v1 defaults and validation). */
import type { Cause } from "../../../bus/errors.ts";
import type { KubeObject, LabelSelector, Labels } from "../../../bus/resources.ts";
import type { Admitter } from "./types.ts";
import { matchesSelector } from "../../../bus/selectors.ts";
import { type Path, type Rec, path, invalid, required, notSupported, forbidden, wrongType, deepEqual, isRec, isInt, rec } from "./field.ts";
import { nameIsDNSSubdomain } from "./names.ts";
import { validateLabels, validateLabelSelector, isEmptySelector } from "./meta.ts";
import { defaultPodSpec, validatePodTemplate } from "./pod.ts";

const NEGATIVE = "must be greater than or equal to 0";
export const nonNegative = (v: unknown, p: Path): Cause[] =>
  v === undefined || v === null || (isInt(v) && v >= 0) ? [] : [invalid(p, v, NEGATIVE)];

export function defaultTemplate(spec: Rec): void {
  if (isRec(spec.template) && isRec(spec.template.spec)) defaultPodSpec(spec.template.spec);
}

/** ValidatePodTemplateSpecForReplicaSet / ForRC: template present, labels matched by the selector, restartPolicy Always. */
export function validateReplicatedTemplate(tpl: unknown, matches: ((labels: Labels) => boolean) | undefined, p: Path, owner: string, mismatch: string): Cause[] {
  if (tpl === undefined || tpl === null) return [required(p)];
  const errs: Cause[] = [];
  const labels = rec(rec(rec(tpl).metadata).labels) as Labels;
  if (matches && !matches(labels)) errs.push(invalid(p.child("metadata", "labels"), labels, mismatch));
  errs.push(...validatePodTemplate(tpl, p));
  const spec = rec(rec(tpl).spec);
  if (isRec(rec(tpl).spec) && spec.restartPolicy !== "Always") errs.push(notSupported(p.child("spec", "restartPolicy"), spec.restartPolicy ?? "", ["Always"]));
  if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds !== null)
    errs.push(invalid(p.child("spec", "activeDeadlineSeconds"), spec.activeDeadlineSeconds, `activeDeadlineSeconds in ${owner} is not Supported`));
  return errs;
}

/** spec.selector (a LabelSelector) for apps/v1 kinds. */
export function validateAppsSelector(spec: Rec, p: Path, kind = "deployment"): ReturnType<SelectorCheck> {
  const sel = spec.selector;
  if (sel === undefined || sel === null) return { errs: [required(p.child("selector"))] };
  const errs = validateLabelSelector(sel, p.child("selector"));
  if (isRec(sel) && isEmptySelector(sel)) errs.push(invalid(p.child("selector"), sel, `empty selector is invalid for ${kind}`));
  if (errs.length) return { errs };
  return { errs, matches: (l) => matchesSelector(sel as LabelSelector, l) };
}

type SelectorCheck = (spec: Rec, p: Path) => { errs: Cause[]; matches?: (l: Labels) => boolean };

/** core/v1 selectors are plain label maps, required and non-empty. */
const validateMapSelector: SelectorCheck = (spec, p) => {
  const selector = rec(spec.selector) as Labels;
  if (Object.keys(selector).length === 0) return { errs: [required(p.child("selector"))] };
  return { errs: validateLabels(spec.selector, p.child("selector")), matches: (l) => Object.entries(selector).every(([k, v]) => l[k] === v) };
};

/** ReplicaSet and ReplicationController specs: counts, selector, template. */
function validateReplicatedSpec(obj: KubeObject, selector: SelectorCheck, owner: string, mismatch: string): Cause[] {
  const p = path("spec");
  if (!isRec(obj.spec)) return [required(p)];
  const spec = obj.spec;
  const errs = [...nonNegative(spec.replicas, p.child("replicas")), ...nonNegative(spec.minReadySeconds, p.child("minReadySeconds"))];
  const sel = selector(spec, p);
  errs.push(...sel.errs);
  errs.push(...validateReplicatedTemplate(spec.template, sel.matches, p.child("template"), owner, mismatch));
  return errs;
}

export function validateReplicaCounts(status: unknown, p: Path, fields: string[]): Cause[] {
  if (status === undefined || status === null) return [];
  if (!isRec(status)) return wrongType(p, status, "object");
  const errs: Cause[] = [];
  for (const f of [...fields, "observedGeneration"]) errs.push(...nonNegative(status[f], p.child(f)));
  const n = (f: string) => (isInt(status[f]) ? (status[f] as number) : 0);
  for (const f of fields.filter((f) => f !== "replicas" && f !== "collisionCount"))
    if (n(f) > n("replicas")) errs.push(invalid(p.child(f), status[f], "cannot be greater than status.replicas"));
  if (n("availableReplicas") > n("readyReplicas")) errs.push(invalid(p.child("availableReplicas"), status.availableReplicas, "cannot be greater than readyReplicas"));
  return errs;
}

export const selectorImmutable = (obj: KubeObject, old: KubeObject): Cause[] =>
  deepEqual(rec(obj.spec).selector, rec(old.spec).selector) ? [] : [invalid(path("spec", "selector"), rec(obj.spec).selector ?? null, "field is immutable")];

// ---------------- Deployment ----------------
export function validateIntOrPercent(v: unknown, p: Path): Cause[] {
  if (typeof v === "string") {
    return /^[0-9]+%$/.test(v)
      ? []
      : [invalid(p, v, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")];
  }
  return nonNegative(v, p);
}
export const intOrPercentValue = (v: unknown): number => (typeof v === "string" ? Number.parseInt(v, 10) : isInt(v) ? v : 0);

function validateStrategy(strategy: unknown, p: Path): Cause[] {
  const s = rec(strategy);
  if (s.type === "Recreate") return s.rollingUpdate ? [forbidden(p.child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'")] : [];
  if (s.type !== "RollingUpdate") return [notSupported(p.child("type"), s.type ?? "", ["Recreate", "RollingUpdate"])];
  if (!isRec(s.rollingUpdate)) return [required(p.child("rollingUpdate"), "this should be defaulted and never be nil")];
  const ru = s.rollingUpdate;
  const rp = p.child("rollingUpdate");
  const errs = [...validateIntOrPercent(ru.maxUnavailable, rp.child("maxUnavailable")), ...validateIntOrPercent(ru.maxSurge, rp.child("maxSurge"))];
  if (intOrPercentValue(ru.maxUnavailable) === 0 && intOrPercentValue(ru.maxSurge) === 0)
    errs.push(invalid(rp.child("maxUnavailable"), ru.maxUnavailable, "may not be 0 when `maxSurge` is 0"));
  if (typeof ru.maxUnavailable === "string" && intOrPercentValue(ru.maxUnavailable) > 100)
    errs.push(invalid(rp.child("maxUnavailable"), ru.maxUnavailable, "must not be greater than 100%"));
  return errs;
}

export const deploymentAdmitter: Admitter = {
  nameFn: nameIsDNSSubdomain,
  tracksGeneration: true,
  defaults(obj) {
    if (!isRec(obj.spec)) return;
    const spec = obj.spec;
    spec.replicas ??= 1;
    const strategy = isRec(spec.strategy) ? spec.strategy : (spec.strategy = {});
    strategy.type ??= "RollingUpdate";
    if (strategy.type === "RollingUpdate") {
      const ru = isRec(strategy.rollingUpdate) ? strategy.rollingUpdate : (strategy.rollingUpdate = {});
      ru.maxUnavailable ??= "25%";
      ru.maxSurge ??= "25%";
    }
    spec.revisionHistoryLimit ??= 10;
    spec.progressDeadlineSeconds ??= 600;
    defaultTemplate(spec);
  },
  prepareCreate(obj) {
    obj.status = {};
  },
  validate(obj) {
    const p = path("spec");
    if (!isRec(obj.spec)) return [required(p)];
    const spec = obj.spec;
    const errs = nonNegative(spec.replicas, p.child("replicas"));
    const sel = validateAppsSelector(spec, p);
    errs.push(...sel.errs);
    errs.push(...validateReplicatedTemplate(spec.template, sel.matches, p.child("template"), "ReplicaSet", "`selector` does not match template `labels`"));
    errs.push(...validateStrategy(spec.strategy, p.child("strategy")));
    for (const f of ["minReadySeconds", "revisionHistoryLimit", "progressDeadlineSeconds"]) errs.push(...nonNegative(spec[f], p.child(f)));
    if (isInt(spec.progressDeadlineSeconds) && spec.progressDeadlineSeconds <= (isInt(spec.minReadySeconds) ? spec.minReadySeconds : 0))
      errs.push(invalid(p.child("progressDeadlineSeconds"), spec.progressDeadlineSeconds, "must be greater than minReadySeconds"));
    return errs;
  },
  validateUpdate: selectorImmutable,
  validateStatus: (obj) =>
    validateReplicaCounts(obj.status, path("status"), ["replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "collisionCount"]),
};

// ---------------- ReplicaSet ----------------
export const replicaSetAdmitter: Admitter = {
  nameFn: nameIsDNSSubdomain,
  tracksGeneration: true,
  defaults(obj) {
    if (!isRec(obj.spec)) return;
    obj.spec.replicas ??= 1;
    defaultTemplate(obj.spec);
  },
  prepareCreate(obj) {
    obj.status = { replicas: 0 };
  },
  validate: (obj) => validateReplicatedSpec(obj, (spec, p) => validateAppsSelector(spec, p), "ReplicaSet", "`selector` does not match template `labels`"),
  validateUpdate: selectorImmutable,
  validateStatus: (obj) =>
    validateReplicaCounts(obj.status, path("status"), ["replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas"]),
};

// ---------------- ReplicationController ----------------
export const replicationControllerAdmitter: Admitter = {
  nameFn: nameIsDNSSubdomain,
  tracksGeneration: true,
  defaults(obj) {
    if (!isRec(obj.spec)) return;
    const spec = obj.spec;
    const labels = isRec(spec.template) && isRec(rec(spec.template.metadata).labels) ? (rec(spec.template.metadata).labels as Rec) : undefined;
    if (labels && Object.keys(labels).length) {
      if (Object.keys(rec(spec.selector)).length === 0) spec.selector = { ...labels };
      if (Object.keys(rec(obj.metadata.labels)).length === 0) obj.metadata.labels = { ...(labels as Labels) };
    }
    spec.replicas ??= 1;
    defaultTemplate(spec);
  },
  prepareCreate(obj) {
    obj.status = { replicas: 0 };
  },
  validate: (obj) => validateReplicatedSpec(obj, validateMapSelector, "ReplicationController", "selector does not match template labels"),
  validateStatus: (obj) =>
    validateReplicaCounts(obj.status, path("status"), ["replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas"]),
};
