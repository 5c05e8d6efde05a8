/** Scheduling constraints of a pod spec: affinity (node, pod, anti) and topology spread. */
import type { Cause } from "../../../bus/errors.ts";
import { type Path, invalid, required, duplicate, notSupported, wrongType, isRec, isInt, rec, arr, str } from "./field.ts";
import { isQualifiedName, isValidLabelValue } from "./names.ts";
import { validateLabelSelector, validateOperatorValues } from "./meta.ts";

const NODE_OPS = ["DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn"] as const;

function validateNodeSelectorRequirements(reqs: unknown, p: Path, fields: boolean): Cause[] {
  const errs = wrongType(p, reqs, "array");
  arr(reqs).forEach((raw, i) => {
    const r = rec(raw);
    const rp = p.index(i);
    const op = str(r.operator);
    const values = arr(r.values);
    if (!(NODE_OPS as readonly string[]).includes(op)) errs.push(notSupported(rp.child("operator"), r.operator ?? "", NODE_OPS));
    else errs.push(...validateOperatorValues(op, values, rp.child("values")));
    if ((op === "Gt" || op === "Lt") && (values.length !== 1 || !/^-?\d+$/.test(str(values[0]))))
      errs.push(required(rp.child("values"), "must be specified single value when `operator` is 'Lt' or 'Gt'"));
    if (fields) {
      if (r.key !== "metadata.name") errs.push(invalid(rp.child("key"), r.key ?? "", "not a valid field selector key"));
    } else for (const m of isQualifiedName(str(r.key))) errs.push(invalid(rp.child("key"), r.key ?? "", m));
    if (!fields && op !== "Gt" && op !== "Lt")
      values.forEach((v, j) => {
        for (const m of isValidLabelValue(str(v))) errs.push(invalid(rp.child("values").index(j), v, m));
      });
  });
  return errs;
}

function validateNodeSelectorTerm(term: unknown, p: Path): Cause[] {
  const t = rec(term);
  return [
    ...validateNodeSelectorRequirements(t.matchExpressions, p.child("matchExpressions"), false),
    ...validateNodeSelectorRequirements(t.matchFields, p.child("matchFields"), true),
  ];
}

function validateWeight(w: unknown, p: Path): Cause[] {
  return isInt(w) && w >= 1 && w <= 100 ? [] : [invalid(p, w ?? 0, "must be in the range 1-100")];
}

function validatePodAffinityTerm(term: unknown, p: Path): Cause[] {
  const t = rec(term);
  const errs = validateLabelSelector(t.labelSelector, p.child("labelSelector"));
  errs.push(...validateLabelSelector(t.namespaceSelector, p.child("namespaceSelector")));
  if (!str(t.topologyKey)) errs.push(required(p.child("topologyKey"), "can not be empty"));
  else for (const m of isQualifiedName(str(t.topologyKey))) errs.push(invalid(p.child("topologyKey"), t.topologyKey, m));
  return errs;
}

function validatePodAffinity(a: unknown, p: Path): Cause[] {
  if (a === undefined || a === null) return [];
  const x = rec(a);
  const errs: Cause[] = [];
  arr(x.requiredDuringSchedulingIgnoredDuringExecution).forEach((t, i) =>
    errs.push(...validatePodAffinityTerm(t, p.child("requiredDuringSchedulingIgnoredDuringExecution").index(i))),
  );
  arr(x.preferredDuringSchedulingIgnoredDuringExecution).forEach((w, i) => {
    const wp = p.child("preferredDuringSchedulingIgnoredDuringExecution").index(i);
    errs.push(...validateWeight(rec(w).weight, wp.child("weight")));
    errs.push(...validatePodAffinityTerm(rec(w).podAffinityTerm, wp.child("podAffinityTerm")));
  });
  return errs;
}

export function validateAffinity(affinity: unknown, p: Path): Cause[] {
  if (affinity === undefined || affinity === null) return [];
  if (!isRec(affinity)) return wrongType(p, affinity, "object");
  const errs: Cause[] = [];
  const na = rec(affinity.nodeAffinity);
  const np = p.child("nodeAffinity");
  if (isRec(na.requiredDuringSchedulingIgnoredDuringExecution)) {
    const rp = np.child("requiredDuringSchedulingIgnoredDuringExecution");
    const terms = arr(na.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms);
    if (terms.length === 0) errs.push(required(rp.child("nodeSelectorTerms"), "must have at least one node selector term"));
    terms.forEach((t, i) => errs.push(...validateNodeSelectorTerm(t, rp.child("nodeSelectorTerms").index(i))));
  }
  arr(na.preferredDuringSchedulingIgnoredDuringExecution).forEach((w, i) => {
    const wp = np.child("preferredDuringSchedulingIgnoredDuringExecution").index(i);
    errs.push(...validateWeight(rec(w).weight, wp.child("weight")));
    errs.push(...validateNodeSelectorTerm(rec(w).preference, wp.child("preference")));
  });
  errs.push(...validatePodAffinity(affinity.podAffinity, p.child("podAffinity")));
  errs.push(...validatePodAffinity(affinity.podAntiAffinity, p.child("podAntiAffinity")));
  return errs;
}

const UNSATISFIABLE = ["DoNotSchedule", "ScheduleAnyway"] as const;

export function validateTopologySpread(list: unknown, p: Path): Cause[] {
  const errs = wrongType(p, list, "array");
  const seen = new Set<string>();
  arr(list).forEach((raw, i) => {
    const c = rec(raw);
    const cp = p.index(i);
    if (!(isInt(c.maxSkew) && c.maxSkew > 0)) errs.push(invalid(cp.child("maxSkew"), c.maxSkew ?? 0, "must be greater than zero"));
    if (!str(c.topologyKey)) errs.push(required(cp.child("topologyKey"), "can not be empty"));
    if (!(UNSATISFIABLE as readonly unknown[]).includes(c.whenUnsatisfiable))
      errs.push(notSupported(cp.child("whenUnsatisfiable"), c.whenUnsatisfiable ?? "", UNSATISFIABLE));
    if (c.minDomains !== undefined && c.minDomains !== null) {
      if (!(isInt(c.minDomains) && c.minDomains > 0)) errs.push(invalid(cp.child("minDomains"), c.minDomains, "must be greater than 0"));
      else if (c.whenUnsatisfiable !== "DoNotSchedule")
        errs.push(invalid(cp.child("minDomains"), c.minDomains, "can only use minDomains if whenUnsatisfiable=DoNotSchedule"));
    }
    const key = `${str(c.topologyKey)}/${str(c.whenUnsatisfiable)}`;
    if (seen.has(key)) errs.push(duplicate(cp, `{${str(c.topologyKey)}, ${str(c.whenUnsatisfiable)}}`));
    seen.add(key);
    errs.push(...validateLabelSelector(c.labelSelector, cp.child("labelSelector")));
  });
  return errs;
}
