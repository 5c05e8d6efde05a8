/** An in-memory RbacView for authorizer specs, optionally holding the default policy. */
import type { ClusterRole, ClusterRoleBinding, Role, RoleBinding, Subject, PolicyRule } from "../../../bus/resources.ts";
import type { RbacView } from "../../../actors/api-server/rbac/authorizer.ts";
import { DEFAULT_CLUSTER_ROLES, DEFAULT_CLUSTER_ROLE_BINDINGS } from "../../../actors/api-server/rbac/bootstrap-policy.ts";

const G = "rbac.authorization.k8s.io";
export interface Policy {
  roles?: Role[];
  clusterRoles?: ClusterRole[];
  roleBindings?: RoleBinding[];
  clusterRoleBindings?: ClusterRoleBinding[];
}

export function staticView(p: Policy, withDefaults = false): RbacView {
  const clusterRoles = [...(withDefaults ? DEFAULT_CLUSTER_ROLES : []), ...(p.clusterRoles ?? [])];
  const crbs = [...(withDefaults ? DEFAULT_CLUSTER_ROLE_BINDINGS : []), ...(p.clusterRoleBindings ?? [])];
  return {
    role: (ns, name) => (p.roles ?? []).find((r) => r.metadata.namespace === ns && r.metadata.name === name),
    clusterRole: (name) => clusterRoles.find((r) => r.metadata.name === name),
    roleBindings: (ns) => (p.roleBindings ?? []).filter((b) => b.metadata.namespace === ns),
    clusterRoleBindings: () => crbs,
  };
}

export const role = (namespace: string, name: string, rules: PolicyRule[]): Role => ({ apiVersion: `${G}/v1`, kind: "Role", metadata: { name, namespace }, rules });
export const clusterRole = (name: string, rules: PolicyRule[]): ClusterRole => ({ apiVersion: `${G}/v1`, kind: "ClusterRole", metadata: { name }, rules });
export const roleBinding = (namespace: string, name: string, ref: { kind: "Role" | "ClusterRole"; name: string }, subjects: Subject[]): RoleBinding => ({
  apiVersion: `${G}/v1`,
  kind: "RoleBinding",
  metadata: { name, namespace },
  roleRef: { apiGroup: G, ...ref },
  subjects,
});
export const clusterRoleBinding = (name: string, roleName: string, subjects: Subject[]): ClusterRoleBinding => ({
  apiVersion: `${G}/v1`,
  kind: "ClusterRoleBinding",
  metadata: { name },
  roleRef: { apiGroup: G, kind: "ClusterRole", name: roleName },
  subjects,
});
export const userSubject = (name: string): Subject => ({ kind: "User", apiGroup: G, name });
export const groupSubject = (name: string): Subject => ({ kind: "Group", apiGroup: G, name });
export const saSubject = (name: string, namespace?: string): Subject => ({ kind: "ServiceAccount", name, ...(namespace ? { namespace } : {}) });
