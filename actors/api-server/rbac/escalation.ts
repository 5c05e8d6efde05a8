/**
 * Escalation prevention (Kubernetes' rbac/validation ConfirmNoEscalation and the registry's
 * `escalate`/`bind` checks), pure: nobody grants a permission they do not hold.
 *
 * - Writing a Role or ClusterRole: allowed with the `escalate` verb on it, or when every permission
 *   in its rules is covered by the writer's own rules (in the Role's namespace; cluster-wide for a
 *   ClusterRole).
 * - Writing a RoleBinding or ClusterRoleBinding: allowed with the `bind` verb on the referenced
 *   role (by name), or when the writer holds every rule of the referenced role (in the binding's
 *   namespace for a RoleBinding).
 *
 * Coverage is checked per atomic permission (one verb × group × resource × name, or one verb × URL),
 * as Kubernetes' `Covers` does: a `*` in the granted rule is covered only by a `*` held.
 */
import type { PolicyRule } from "../../../bus/resources.ts";

const has = (l: readonly string[] | undefined, v: string) => (l ?? []).includes(v);

function resourceCovers(owner: readonly string[] | undefined, r: string): boolean {
  if (has(owner, "*") || has(owner, r)) return true;
  const slash = r.indexOf("/");
  return slash >= 0 && has(owner, `*/${r.slice(slash + 1)}`);
}

function urlCovers(owner: readonly string[] | undefined, u: string): boolean {
  for (const o of owner ?? []) {
    if (o === "*" || o === u) return true;
    if (o.endsWith("*") && u.startsWith(o.slice(0, -1))) return true;
  }
  return false;
}

/** Whether one owner rule covers a one-verb, one-group, one-resource (, one-name) servant rule. */
function ruleCovers(owner: PolicyRule, s: PolicyRule): boolean {
  const verb = s.verbs[0]!;
  if (!has(owner.verbs, "*") && !has(owner.verbs, verb)) return false;
  if (s.nonResourceURLs?.length) return urlCovers(owner.nonResourceURLs, s.nonResourceURLs[0]!);
  const group = s.apiGroups![0]!;
  if (!has(owner.apiGroups, "*") && !has(owner.apiGroups, group)) return false;
  if (!resourceCovers(owner.resources, s.resources![0]!)) return false;
  if (!owner.resourceNames?.length) return true;
  const name = s.resourceNames?.[0];
  return name !== undefined && has(owner.resourceNames, name);
}

/** A rule broken into one-verb, one-group, one-resource, one-name (or one-URL) rules. */
export function atomize(r: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const verb of r.verbs ?? []) {
    for (const u of r.nonResourceURLs ?? []) out.push({ verbs: [verb], nonResourceURLs: [u] });
    for (const group of r.apiGroups ?? []) {
      for (const resource of r.resources ?? []) {
        if (r.resourceNames?.length) for (const name of r.resourceNames) out.push({ verbs: [verb], apiGroups: [group], resources: [resource], resourceNames: [name] });
        else out.push({ verbs: [verb], apiGroups: [group], resources: [resource] });
      }
    }
  }
  return out;
}

/** The servant's atomic permissions no owner rule covers (empty: fully covered). */
export function uncovered(owner: readonly PolicyRule[], servant: readonly PolicyRule[]): PolicyRule[] {
  const missing: PolicyRule[] = [];
  for (const r of servant) for (const a of atomize(r)) if (!owner.some((o) => ruleCovers(o, a))) missing.push(a);
  return missing;
}

/** Go's `%+v`-like rendering Kubernetes uses in the escalation message: `{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}`. */
export function formatRule(r: PolicyRule): string {
  const q = (l: readonly string[]) => `[${l.map((s) => JSON.stringify(s)).join(" ")}]`;
  const parts: string[] = [];
  if (r.apiGroups?.length) parts.push(`APIGroups:${q(r.apiGroups)}`);
  if (r.resources?.length) parts.push(`Resources:${q(r.resources)}`);
  if (r.resourceNames?.length) parts.push(`ResourceNames:${q(r.resourceNames)}`);
  if (r.nonResourceURLs?.length) parts.push(`NonResourceURLs:${q(r.nonResourceURLs)}`);
  parts.push(`Verbs:${q(r.verbs)}`);
  return `{${parts.join(", ")}}`;
}
