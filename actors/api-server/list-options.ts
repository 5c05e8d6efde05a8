/**
 * `ListOptions` from the query of a list or watch, checked the way kube-apiserver checks them
 * (apimachinery's `ValidateListOptions`): malformed numbers and selectors are 400s naming the
 * parameter; a `resourceVersionMatch` that does not fit is a 422 on `ListOptions.meta.k8s.io`.
 * Pure.
 *
 * @example
 *   const o = listOptions("pods", parseQuery("labelSelector=app%3Dweb&limit=50"), { watch: false });
 *   // o.limit === 50, o.matches(pod) tests the selectors
 */
import type { KubeObject } from "../../bus/resources.ts";
import type { Cause } from "../../bus/errors.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { parseLabelSelector, parseFieldSelector, matchesRequirements, matchesFields } from "../../bus/selectors.ts";
import { int64Param, kubeBool, resourceVersionParam } from "./query.ts";

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Only a positive limit pages; zero or negative lists everything, as in Kubernetes. */
  limit?: number;
  continue?: string;
  resourceVersion?: number;
  timeoutSeconds?: number;
  allowWatchBookmarks: boolean;
  matches: (o: KubeObject) => boolean;
}

const quote = (s: string) => JSON.stringify(s);

/** Wraps a selector's parse error so the message names the parameter. */
function selector<T>(name: string, value: string | undefined, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof FlotillaError && e.code === ErrorCode.BadRequest) {
      throw new FlotillaError(ErrorCode.BadRequest, `${name}: Invalid value: ${quote(value ?? "")}: ${e.message}`);
    }
    throw e;
  }
}

function invalidListOptions(causes: Cause[]): FlotillaError {
  const one = (c: Cause) => `${c.field}: ${c.message}`;
  const what = causes.length === 1 ? one(causes[0]!) : `[${causes.map(one).join(", ")}]`;
  return new FlotillaError(ErrorCode.Invalid, `ListOptions.meta.k8s.io "" is invalid: ${what}`, { details: { group: "meta.k8s.io", kind: "ListOptions", causes } });
}

const forbidden = (message: string): Cause => ({ field: "resourceVersionMatch", reason: "FieldValueForbidden", message: `Forbidden: ${message}` });
const unsupported = (value: string, supported: string[]): Cause => ({
  field: "resourceVersionMatch",
  reason: "FieldValueNotSupported",
  message: `Unsupported value: ${quote(value)}: supported values: ${supported.map(quote).join(", ")}`,
});

/** apimachinery's `ValidateListOptions` for `resourceVersionMatch` (sendInitialEvents is not served). */
function checkResourceVersionMatch(q: URLSearchParams, watch: boolean): void {
  const match = q.get("resourceVersionMatch") ?? "";
  if (match === "") return;
  const causes: Cause[] = [];
  if (watch) {
    causes.push(forbidden("resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"));
    if (match !== "NotOlderThan") causes.push(unsupported(match, ["NotOlderThan"]));
  } else {
    const rv = q.get("resourceVersion") ?? "";
    if (rv === "") causes.push(forbidden("resourceVersionMatch is forbidden unless resourceVersion is provided"));
    if (q.get("continue")) causes.push(forbidden("resourceVersionMatch is forbidden when continue is provided"));
    if (match !== "Exact" && match !== "NotOlderThan") causes.push(unsupported(match, ["Exact", "NotOlderThan", ""]));
    if (match === "Exact" && rv === "0") causes.push(forbidden('resourceVersionMatch "exact" is forbidden for resourceVersion "0"'));
  }
  if (causes.length) throw invalidListOptions(causes);
}

export function listOptions(resource: string, q: URLSearchParams, o: { watch: boolean; name?: string }): ListOptions {
  const labelSelector = q.get("labelSelector") || undefined;
  const given = q.get("fieldSelector") || undefined;
  const labels = selector("labelSelector", labelSelector, () => parseLabelSelector(labelSelector));
  const fields = selector("fieldSelector", given, () => parseFieldSelector(resource, given));
  // A watch of one object (`/pods/x?watch=true`, `/watch/…/pods/x`) is a watch with a name selector.
  if (o.name !== undefined) {
    const named = fields.filter((f) => f.field === "metadata.name");
    if (named.some((f) => f.op !== "=" || f.value !== o.name)) throw new FlotillaError(ErrorCode.BadRequest, "fieldSelector metadata.name doesn't match requested name");
    if (named.length === 0) fields.push({ field: "metadata.name", op: "=", value: o.name });
  }
  const fieldSelector = fields.map((f) => `${f.field}${f.op}${f.value}`).join(",") || undefined;
  const limit = int64Param(q, "limit");
  const timeoutSeconds = int64Param(q, "timeoutSeconds");
  const resourceVersion = resourceVersionParam(q);
  checkResourceVersionMatch(q, o.watch);
  const out: ListOptions = {
    allowWatchBookmarks: kubeBool(q, "allowWatchBookmarks") === true,
    matches: labels.length === 0 && fields.length === 0 ? () => true : (x) => matchesRequirements(labels, x.metadata.labels) && matchesFields(resource, fields, x),
  };
  if (labelSelector !== undefined) out.labelSelector = labelSelector;
  if (fieldSelector !== undefined) out.fieldSelector = fieldSelector;
  if (limit !== undefined && limit > 0) out.limit = limit;
  if (q.get("continue")) out.continue = q.get("continue")!;
  if (resourceVersion !== undefined) out.resourceVersion = resourceVersion;
  if (timeoutSeconds !== undefined) out.timeoutSeconds = timeoutSeconds;
  return out;
}
