/** Tolerations: validation, the "only additions" update rule, and DefaultTolerationSeconds. */
import type { Cause } from "../../../bus/errors.ts";
import { type Path, type Rec, invalid, notSupported, forbidden, wrongType, deepEqual, rec, arr, str, isInt } from "./field.ts";
import { isQualifiedName, isValidLabelValue } from "./names.ts";

export const TAINT_EFFECTS = ["NoExecute", "NoSchedule", "PreferNoSchedule"] as const;
/** Flotilla fails over in seconds: Kubernetes' DefaultTolerationSeconds is 300, ours is 2. */
export const DEFAULT_TOLERATION_SECONDS = 2;
export const NOT_READY_TAINT = "node.kubernetes.io/not-ready";
export const UNREACHABLE_TAINT = "node.kubernetes.io/unreachable";

export function validateTolerations(tolerations: unknown, p: Path): Cause[] {
  const errs = wrongType(p, tolerations, "array");
  arr(tolerations).forEach((raw, i) => {
    const t = rec(raw);
    const ip = p.index(i);
    const key = str(t.key);
    if (key) for (const m of isQualifiedName(key)) errs.push(invalid(ip.child("key"), key, m));
    if (!key && t.operator !== "Exists")
      errs.push(invalid(ip.child("operator"), t.operator ?? "", 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    if (t.tolerationSeconds !== undefined && t.tolerationSeconds !== null) {
      if (t.effect !== "NoExecute") errs.push(invalid(ip.child("effect"), t.effect ?? "", "effect must be 'NoExecute' when `tolerationSeconds` is set"));
      if (!isInt(t.tolerationSeconds)) errs.push(invalid(ip.child("tolerationSeconds"), t.tolerationSeconds, "must be an integer"));
    }
    const op = t.operator ?? "";
    if (op === "" || op === "Equal") {
      const msgs = isValidLabelValue(str(t.value));
      if (msgs.length) errs.push(invalid(ip.child("operator"), t.value, msgs.join(";")));
    } else if (op === "Exists") {
      if (str(t.value)) errs.push(invalid(ip.child("operator"), raw, "value must be empty when `operator` is 'Exists'"));
    } else errs.push(notSupported(ip.child("operator"), op, ["Equal", "Exists"]));
    if (t.effect !== undefined && t.effect !== "" && !(TAINT_EFFECTS as readonly unknown[]).includes(t.effect))
      errs.push(notSupported(ip.child("effect"), t.effect, TAINT_EFFECTS));
  });
  return errs;
}

/** Pods may add tolerations and change an existing one's tolerationSeconds, but nothing else (validateOnlyAddedTolerations). */
export function validateOnlyAddedTolerations(next: unknown, prev: unknown, p: Path): Cause[] {
  const now = arr(next).map(rec);
  const strip = (t: Rec): Rec => ({ ...t, tolerationSeconds: undefined });
  const kept = arr(prev).every((old) => now.some((t) => deepEqual(strip(t), strip(rec(old)))));
  return kept ? [] : [forbidden(p, "existing toleration can not be modified except its tolerationSeconds")];
}

/** DefaultTolerationSeconds: tolerate not-ready and unreachable nodes for a while, unless the pod says otherwise. */
export function addDefaultTolerations(spec: Rec, seconds: number): void {
  const tolerations = arr(spec.tolerations).map(rec);
  const covers = (key: string) =>
    tolerations.some((t) => (str(t.key) === key || !str(t.key)) && (t.effect === "NoExecute" || !str(t.effect)));
  const added = [NOT_READY_TAINT, UNREACHABLE_TAINT]
    .filter((key) => !covers(key))
    .map((key) => ({ key, operator: "Exists", effect: "NoExecute", tolerationSeconds: seconds }));
  if (added.length) spec.tolerations = [...arr(spec.tolerations), ...added];
}
