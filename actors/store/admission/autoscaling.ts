/** HorizontalPodAutoscaler admission (autoscaling/v2 validation and defaults, as Kubernetes'). */
import type { Cause } from "../../../bus/errors.ts";
import type { KubeObject } from "../../../bus/resources.ts";
import type { HorizontalPodAutoscaler } from "../../../bus/hpa.ts";
import type { Admitter } from "./types.ts";
import { defaultHpa } from "../../../bus/hpa.ts";
import { isQuantity } from "../../../bus/quantity.ts";
import { type Path, path, invalid, required, notSupported, isRec, rec, isInt, arr } from "./field.ts";
import { nameIsDNSSubdomain } from "./names.ts";

function validateTarget(t: unknown, p: Path): Cause[] {
  const target = rec(t);
  const errs: Cause[] = [];
  if (!["Utilization", "AverageValue", "Value"].includes(target.type as string)) errs.push(notSupported(p.child("type"), target.type, ["AverageValue", "Utilization", "Value"]));
  if (target.type === "Utilization" && (!isInt(target.averageUtilization) || (target.averageUtilization as number) < 1)) errs.push(invalid(p.child("averageUtilization"), target.averageUtilization, "must be greater than 0"));
  if (target.type === "AverageValue" && !isQuantity(target.averageValue)) errs.push(required(p.child("averageValue"), "must specify a positive target averageValue"));
  if (target.type === "Value" && !isQuantity(target.value)) errs.push(required(p.child("value"), "must specify a positive target value"));
  return errs;
}

function validateRules(r: unknown, p: Path): Cause[] {
  if (r === undefined) return [];
  const rules = rec(r);
  const errs: Cause[] = [];
  const w = rules.stabilizationWindowSeconds;
  if (w !== undefined && (!isInt(w) || w < 0 || w > 3600)) errs.push(invalid(p.child("stabilizationWindowSeconds"), w, "must be between 0 and 3600"));
  if (rules.selectPolicy !== undefined && !["Max", "Min", "Disabled"].includes(rules.selectPolicy as string)) errs.push(notSupported(p.child("selectPolicy"), rules.selectPolicy, ["Disabled", "Max", "Min"]));
  arr(rules.policies).forEach((x, i) => {
    const pol = rec(x);
    const pp = p.child("policies").index(i);
    if (pol.type !== "Pods" && pol.type !== "Percent") errs.push(notSupported(pp.child("type"), pol.type, ["Percent", "Pods"]));
    if (!isInt(pol.value) || (pol.value as number) <= 0) errs.push(invalid(pp.child("value"), pol.value, "must be greater than zero"));
    if (!isInt(pol.periodSeconds) || (pol.periodSeconds as number) <= 0 || (pol.periodSeconds as number) > 1800) errs.push(invalid(pp.child("periodSeconds"), pol.periodSeconds, "must be greater than zero and less than or equal to 1800"));
  });
  return errs;
}

export const hpaAdmitter: Admitter = {
  nameFn: nameIsDNSSubdomain,
  tracksGeneration: true,
  defaults(o: KubeObject) {
    if (isRec(o.spec)) defaultHpa(o as HorizontalPodAutoscaler);
  },
  validate(o: KubeObject) {
    const spec = rec(o.spec);
    const errs: Cause[] = [];
    const ref = rec(spec.scaleTargetRef);
    if (!ref.kind) errs.push(required(path("spec", "scaleTargetRef", "kind")));
    if (!ref.name) errs.push(required(path("spec", "scaleTargetRef", "name")));
    const min = spec.minReplicas;
    if (min !== undefined && (!isInt(min) || min < 1)) errs.push(invalid(path("spec", "minReplicas"), min, "must be greater than or equal to 1"));
    if (!isInt(spec.maxReplicas) || (spec.maxReplicas as number) < 1) errs.push(invalid(path("spec", "maxReplicas"), spec.maxReplicas, "must be greater than 0"));
    else if (isInt(min) && (spec.maxReplicas as number) < min) errs.push(invalid(path("spec", "maxReplicas"), spec.maxReplicas, "must be greater than or equal to `minReplicas`"));
    arr(spec.metrics).forEach((x, i) => {
      const m = rec(x);
      const p = path("spec", "metrics").index(i);
      const types = ["ContainerResource", "External", "Object", "Pods", "Resource"];
      if (!types.includes(m.type as string)) return void errs.push(notSupported(p.child("type"), m.type, types));
      if (m.type === "Resource") {
        const r = rec(m.resource);
        if (!r.name) errs.push(required(p.child("resource", "name")));
        errs.push(...validateTarget(r.target, p.child("resource", "target")));
      }
    });
    const behavior = rec(spec.behavior);
    errs.push(...validateRules(behavior.scaleUp, path("spec", "behavior", "scaleUp")), ...validateRules(behavior.scaleDown, path("spec", "behavior", "scaleDown")));
    return errs;
  },
};
