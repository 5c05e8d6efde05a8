/**
 * Kubernetes' RBAC authorizer (plugin/pkg/auth/authorizer/rbac), pure: request attributes and a
 * read-only view of the four RBAC kinds in, a decision out. No I/O.
 *
 * - `system:masters` may do everything, whatever the bindings say (kube-apiserver's privileged group).
 * - ClusterRoleBindings grant their ClusterRole everywhere; RoleBindings grant their Role, or the
 *   rules of a ClusterRole, in their own namespace only. Non-resource URLs are granted only by
 *   ClusterRoleBindings.
 * - Rules: verbs, apiGroups, resources (`pods/log`, `*`, or `*` + `/scale` for a subresource of
 *   any resource), resourceNames (empty: any;
 *   otherwise the request must name one of them) and nonResourceURLs (`*`, exact, or a `prefix*`).
 * - Subjects: User by name, Group by membership, ServiceAccount as the user
 *   `system:serviceaccount:<namespace>:<name>` (a RoleBinding's subject without a namespace is in
 *   the binding's namespace).
 *
 * @example
 *   authorize(view, { user, verb: "list", resource: { namespace: "default", group: "", resource: "pods" } })
 *   // { allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "readers" of ClusterRole "view" to Group "devs"' }
 */
import type { ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, Subject } from "../../../bus/resources.ts";

export const MASTERS_GROUP = "system:masters";
export const AUTHENTICATED_GROUP = "system:authenticated";
export const SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts";
export const SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:";

export interface UserInfo {
  name: string;
  uid?: string;
  groups: readonly string[];
}

export interface ResourceAttributes {
  /** Empty or absent: cluster scope. */
  namespace?: string;
  group: string;
  resource: string;
  subresource?: string;
  name?: string;
}

export interface Attributes {
  user: UserInfo;
  verb: string;
  /** A resource request; otherwise `path` names a non-resource URL. */
  resource?: ResourceAttributes;
  path?: string;
}

/** What the authorizer reads: the RBAC objects as the api-server's caches hold them. */
export interface RbacView {
  role(namespace: string, name: string): Role | undefined;
  clusterRole(name: string): ClusterRole | undefined;
  roleBindings(namespace: string): Iterable<RoleBinding>;
  clusterRoleBindings(): Iterable<ClusterRoleBinding>;
}

export interface Decision {
  allowed: boolean;
  reason: string;
}

/** The user name a ServiceAccount authenticates as. */
export const serviceAccountUser = (namespace: string, name: string) => `${SERVICE_ACCOUNT_PREFIX}${namespace}:${name}`;

/** The groups every ServiceAccount of a namespace is in (besides system:authenticated). */
export const serviceAccountGroups = (namespace: string) => [SERVICE_ACCOUNTS_GROUP, `${SERVICE_ACCOUNTS_GROUP}:${namespace}`];

export function subjectMatches(s: Subject, user: UserInfo, bindingNamespace: string): boolean {
  switch (s.kind) {
    case "User":
      return s.name === user.name;
    case "Group":
      return user.groups.includes(s.name);
    case "ServiceAccount":
      return user.name === serviceAccountUser(s.namespace || bindingNamespace, s.name);
    default:
      return false;
  }
}

const has = (list: readonly string[] | undefined, v: string) => (list ?? []).includes(v);
const hasOrStar = (list: readonly string[] | undefined, v: string) => has(list, "*") || has(list, v);

export function verbMatches(rule: PolicyRule, verb: string): boolean {
  return hasOrStar(rule.verbs, verb);
}

export function resourceMatches(rule: PolicyRule, resource: string, subresource: string | undefined): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  for (const r of rule.resources ?? []) {
    if (r === "*" || r === combined) return true;
    if (subresource && r === `*/${subresource}`) return true;
  }
  return false;
}

export function resourceNameMatches(rule: PolicyRule, name: string | undefined): boolean {
  if (!rule.resourceNames?.length) return true;
  return name !== undefined && name !== "" && rule.resourceNames.includes(name);
}

export function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === "*" || u === path) return true;
    if (u.endsWith("*") && path.startsWith(u.slice(0, -1))) return true;
  }
  return false;
}

/** Whether one rule allows the request (RuleAllows). */
export function ruleAllows(rule: PolicyRule, a: Omit<Attributes, "user">): boolean {
  if (!verbMatches(rule, a.verb)) return false;
  if (a.resource) {
    const r = a.resource;
    return hasOrStar(rule.apiGroups, r.group) && resourceMatches(rule, r.resource, r.subresource) && resourceNameMatches(rule, r.name);
  }
  return a.path !== undefined && nonResourceURLMatches(rule, a.path);
}

/** One binding that applies to the user, with the rules it grants. */
export interface Grant {
  /** e.g. `ClusterRoleBinding "readers" of ClusterRole "view"`. */
  describe: string;
  /** The namespace the rules hold in; undefined: everywhere (a ClusterRoleBinding). */
  namespace?: string;
  rules: PolicyRule[];
  subject: Subject;
}

function roleRules(view: RbacView, kind: string, namespace: string, name: string): PolicyRule[] | undefined {
  if (kind === "ClusterRole") return view.clusterRole(name)?.rules ?? (view.clusterRole(name) ? [] : undefined);
  if (kind === "Role") return view.role(namespace, name)?.rules ?? (view.role(namespace, name) ? [] : undefined);
  return undefined;
}

/**
 * Every grant that applies to the user: all ClusterRoleBindings, then the RoleBindings of
 * `namespace` (when given). A binding to a role that does not exist grants nothing.
 */
export function* grantsFor(view: RbacView, user: UserInfo, namespace: string | undefined): Generator<Grant> {
  for (const b of view.clusterRoleBindings()) {
    const subject = (b.subjects ?? []).find((s) => subjectMatches(s, user, ""));
    if (!subject) continue;
    const rules = roleRules(view, b.roleRef?.kind, "", b.roleRef?.name);
    if (rules) yield { describe: `ClusterRoleBinding "${b.metadata.name}" of ClusterRole "${b.roleRef.name}"`, rules, subject };
  }
  if (!namespace) return;
  for (const b of view.roleBindings(namespace)) {
    const subject = (b.subjects ?? []).find((s) => subjectMatches(s, user, namespace));
    if (!subject) continue;
    const rules = roleRules(view, b.roleRef?.kind, namespace, b.roleRef?.name);
    if (rules) yield { describe: `RoleBinding "${namespace}/${b.metadata.name}" of ${b.roleRef.kind} "${b.roleRef.name}"`, namespace, rules, subject };
  }
}

export function authorize(view: RbacView, a: Attributes): Decision {
  if (a.user.groups.includes(MASTERS_GROUP)) return { allowed: true, reason: `member of ${MASTERS_GROUP}` };
  const namespace = a.resource?.namespace || undefined;
  for (const g of grantsFor(view, a.user, namespace)) {
    // Non-resource URLs are cluster-wide: only ClusterRoleBindings grant them.
    if (!a.resource && g.namespace !== undefined) continue;
    if (g.rules.some((r) => ruleAllows(r, a))) return { allowed: true, reason: `RBAC: allowed by ${g.describe} to ${g.subject.kind} "${g.subject.name}"` };
  }
  return { allowed: false, reason: "" };
}

/** Every rule the user holds in a namespace (or cluster-wide with none): SelfSubjectRulesReview's data. */
export function rulesFor(view: RbacView, user: UserInfo, namespace: string | undefined): PolicyRule[] {
  if (user.groups.includes(MASTERS_GROUP)) {
    return [
      { verbs: ["*"], apiGroups: ["*"], resources: ["*"] },
      { verbs: ["*"], nonResourceURLs: ["*"] },
    ];
  }
  const out: PolicyRule[] = [];
  for (const g of grantsFor(view, user, namespace)) {
    for (const r of g.rules) {
      if (g.namespace !== undefined && r.nonResourceURLs?.length) continue;
      out.push(r);
    }
  }
  return out;
}
