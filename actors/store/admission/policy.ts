/** Policy kinds: ResourceQuota, LimitRange and PodDisruptionBudget (validation and defaults). */
import type { Cause } from "../../../bus/errors.ts";
import type { KubeObject } from "../../../bus/resources.ts";
import type { Admitter } from "./types.ts";
import { isQuantity } from "../../../bus/quantity.ts";
import { type Path, path, invalid, required, notSupported, forbidden, isRec, rec, isInt } from "./field.ts";
import { nameIsDNSSubdomain } from "./names.ts";
import { validateLabelSelector } from "./meta.ts";

function validateQuantities(m: unknown, p: Path): Cause[] {
  const errs: Cause[] = [];
  if (m === undefined || m === null) return errs;
  if (!isRec(m)) return [invalid(p, m, "must be an object")];
  for (const [k, v] of Object.entries(m)) {
    if (!isQuantity(v)) errs.push(invalid(p.key(k), v, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"));
    else if (String(v).trim().startsWith("-")) errs.push(invalid(p.key(k), v, "must be greater than or equal to 0"));
  }
  return errs;
}

export const quotaAdmitter: Admitter = {
  nameFn: nameIsDNSSubdomain,
  prepareCreate(o) {
    // The quota controller fills status.used; hard mirrors the spec from the start.
    o.status = { hard: { ...rec(rec(o.spec).hard) } };
  },
  validate: (o) => validateQuantities(rec(o.spec).hard, path("spec", "hard")),
  validateStatus: (o) => [...validateQuantities(rec(o.status).hard, path("status", "hard")), ...validateQuantities(rec(o.status).used, path("status", "used"))],
};

const LIMIT_TYPES = ["Container", "Pod", "PersistentVolumeClaim"];

export const limitRangeAdmitter: Admitter = {
  nameFn: nameIsDNSSubdomain,
  validate(o) {
    const errs: Cause[] = [];
    const limits = rec(o.spec).limits;
    if (!Array.isArray(limits)) return [required(path("spec", "limits"))];
    for (const [i, l] of limits.entries()) {
      const p = path("spec", "limits").index(i);
      if (!LIMIT_TYPES.includes(String(rec(l).type))) errs.push(notSupported(p.child("type"), rec(l).type, LIMIT_TYPES));
      for (const f of ["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"]) errs.push(...validateQuantities(rec(l)[f], p.child(f)));
      if (rec(l).type === "Pod" && (rec(l).default !== undefined || rec(l).defaultRequest !== undefined)) {
        errs.push(forbidden(p.child("default"), "may not be specified when `type` is 'Pod'"));
      }
    }
    return errs;
  },
};

function intOrPercent(v: unknown, p: Path): Cause[] {
  if (v === undefined) return [];
  if (isInt(v)) return v < 0 ? [invalid(p, v, "must be greater than or equal to 0")] : [];
  if (typeof v === "string" && /^\d+%$/.test(v)) return Number(v.slice(0, -1)) > 100 ? [invalid(p, v, "must not be greater than 100%")] : [];
  return [invalid(p, v, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")];
}

export const pdbAdmitter: Admitter = {
  nameFn: nameIsDNSSubdomain,
  tracksGeneration: true,
  validate(o: KubeObject) {
    const spec = rec(o.spec);
    const errs = [...intOrPercent(spec.minAvailable, path("spec", "minAvailable")), ...intOrPercent(spec.maxUnavailable, path("spec", "maxUnavailable"))];
    if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined) errs.push(invalid(path("spec"), spec, "minAvailable and maxUnavailable cannot be both set"));
    if (spec.selector !== undefined) errs.push(...validateLabelSelector(spec.selector, path("spec", "selector")));
    return errs;
  },
};
