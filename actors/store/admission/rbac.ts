/**
 * rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding, ClusterRoleBinding — defaults
 * (rbac/v1 defaults.go) and validation (pkg/apis/rbac/validation) as Kubernetes applies them.
 */
import type { Cause } from "../../../bus/errors.ts";
import type { KubeObject } from "../../../bus/resources.ts";
import type { Admitter } from "./types.ts";
import type { NameFn } from "./names.ts";
import { RBAC_GROUP } from "../../../bus/kinds.ts";
import { type Path, path, invalid, required, notSupported, wrongType, deepEqual, isRec, arr, rec, str } from "./field.ts";
import { isDNS1123Subdomain, nameIsDNSSubdomain } from "./names.ts";
import { validateLabelSelector } from "./meta.ts";

/**
 * Kubernetes takes any path segment as an RBAC name. Flotilla's keys hold DNS subdomains plus `:`
 * (`system:kube-scheduler`, `system:masters`), so a name is a DNS subdomain once `:` is read as `-`.
 */
export const nameRBAC: NameFn = (n, prefix) => nameIsDNSSubdomain(n.replaceAll(":", "-"), prefix);

const STRING_LISTS = ["verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs"] as const;

export function validatePolicyRule(rule: unknown, namespaced: boolean, p: Path): Cause[] {
  if (!isRec(rule)) return wrongType(p, rule, "object");
  const errs: Cause[] = [];
  for (const f of STRING_LISTS) {
    errs.push(...wrongType(p.child(f), rule[f], "array"));
    arr(rule[f]).forEach((v, i) => typeof v !== "string" && errs.push(invalid(p.child(f).index(i), v, "must be of type string")));
  }
  const len = (f: (typeof STRING_LISTS)[number]) => arr(rule[f]).length;
  if (len("verbs") === 0) errs.push(required(p.child("verbs"), "verbs must contain at least one value"));
  if (len("nonResourceURLs") > 0) {
    if (namespaced) errs.push(invalid(p.child("nonResourceURLs"), rule.nonResourceURLs, "namespaced rules cannot apply to non-resource URLs"));
    if (len("apiGroups") > 0 || len("resources") > 0 || len("resourceNames") > 0)
      errs.push(invalid(p.child("nonResourceURLs"), rule.nonResourceURLs, "rules cannot apply to both regular resources and non-resource URLs"));
    return errs;
  }
  if (len("apiGroups") === 0) errs.push(required(p.child("apiGroups"), "resource rules must supply at least one api group"));
  if (len("resources") === 0) errs.push(required(p.child("resources"), "resource rules must supply at least one resource"));
  return errs;
}

function validateRules(obj: KubeObject, namespaced: boolean): Cause[] {
  const p = path("rules");
  const errs = wrongType(p, obj.rules, "array");
  arr(obj.rules).forEach((r, i) => errs.push(...validatePolicyRule(r, namespaced, p.index(i))));
  return errs;
}

function validateAggregation(obj: KubeObject): Cause[] {
  const agg = obj.aggregationRule;
  if (agg === undefined || agg === null) return [];
  const p = path("aggregationRule");
  if (!isRec(agg)) return wrongType(p, agg, "object");
  const sp = p.child("clusterRoleSelectors");
  const sels = arr(agg.clusterRoleSelectors);
  const errs = wrongType(sp, agg.clusterRoleSelectors, "array");
  if (sels.length === 0) errs.push(required(sp, "at least one clusterRoleSelector required if aggregationRule is non-nil"));
  sels.forEach((s, i) => errs.push(...validateLabelSelector(s, sp.index(i))));
  return errs;
}

function defaultRoleRef(obj: KubeObject): void {
  if (isRec(obj.roleRef) && (obj.roleRef.apiGroup === undefined || obj.roleRef.apiGroup === "")) obj.roleRef.apiGroup = RBAC_GROUP;
}

function defaultSubjects(obj: KubeObject): void {
  for (const s of arr(obj.subjects)) {
    if (!isRec(s) || (s.apiGroup !== undefined && s.apiGroup !== "")) continue;
    if (s.kind === "User" || s.kind === "Group") s.apiGroup = RBAC_GROUP;
    else if (s.kind === "ServiceAccount") s.apiGroup = "";
  }
}

const SUBJECT_KINDS = ["ServiceAccount", "User", "Group"] as const;

export function validateSubject(s: unknown, namespaced: boolean, p: Path): Cause[] {
  if (!isRec(s)) return wrongType(p, s, "object");
  const errs: Cause[] = [];
  const name = str(s.name);
  if (!name) errs.push(required(p.child("name")));
  switch (s.kind) {
    case "ServiceAccount":
      if (name) for (const m of isDNS1123Subdomain(name)) errs.push(invalid(p.child("name"), name, m));
      if (str(s.apiGroup)) errs.push(notSupported(p.child("apiGroup"), s.apiGroup, [""]));
      if (!namespaced && !str(s.namespace)) errs.push(required(p.child("namespace")));
      break;
    case "User":
    case "Group":
      if (s.apiGroup !== RBAC_GROUP) errs.push(notSupported(p.child("apiGroup"), s.apiGroup ?? "", [RBAC_GROUP]));
      break;
    default:
      errs.push(notSupported(p.child("kind"), s.kind ?? "", SUBJECT_KINDS));
  }
  return errs;
}

function validateBinding(obj: KubeObject, namespaced: boolean): Cause[] {
  const errs: Cause[] = [];
  const ref = rec(obj.roleRef);
  if (!isRec(obj.roleRef)) errs.push(...wrongType(path("roleRef"), obj.roleRef, "object"));
  if (ref.apiGroup !== RBAC_GROUP) errs.push(notSupported(path("roleRef", "apiGroup"), ref.apiGroup ?? "", [RBAC_GROUP]));
  const kinds = namespaced ? ["Role", "ClusterRole"] : ["ClusterRole"];
  if (!kinds.includes(str(ref.kind))) errs.push(notSupported(path("roleRef", "kind"), ref.kind ?? "", kinds));
  const name = str(ref.name);
  if (!name) errs.push(required(path("roleRef", "name")));
  else for (const m of nameRBAC(name, false)) errs.push(invalid(path("roleRef", "name"), name, m));
  const sp = path("subjects");
  errs.push(...wrongType(sp, obj.subjects, "array"));
  arr(obj.subjects).forEach((s, i) => errs.push(...validateSubject(s, namespaced, sp.index(i))));
  return errs;
}

function validateRoleRefUpdate(obj: KubeObject, old: KubeObject): Cause[] {
  return deepEqual(obj.roleRef, old.roleRef) ? [] : [invalid(path("roleRef"), obj.roleRef, "cannot change roleRef")];
}

export const roleAdmitter: Admitter = { nameFn: nameRBAC, validate: (obj) => validateRules(obj, true) };

export const clusterRoleAdmitter: Admitter = {
  nameFn: nameRBAC,
  validate: (obj) => [...validateRules(obj, false), ...validateAggregation(obj)],
};

function bindingAdmitter(namespaced: boolean): Admitter {
  return {
    nameFn: nameRBAC,
    defaults(obj) {
      defaultRoleRef(obj);
      defaultSubjects(obj);
    },
    validate: (obj) => validateBinding(obj, namespaced),
    validateUpdate: validateRoleRefUpdate,
  };
}
export const roleBindingAdmitter = bindingAdmitter(true);
export const clusterRoleBindingAdmitter = bindingAdmitter(false);
