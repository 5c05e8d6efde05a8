/**
 * Table printers of ServiceAccounts, Roles, ClusterRoles, RoleBindings and ClusterRoleBindings, column for column
 * as kubernetes pkg/printers/internalversion/printers.go (1.32) prints them.
 */
import type { ClusterRoleBinding, RoleBinding, ServiceAccount, Subject } from "../../bus/resources.ts";
import type { Printer } from "./table-kit.ts";
import { col, wide, NAME, AGE, age } from "./table-kit.ts";

const role: Printer = {
  columns: [NAME, col("Created At", "CreationTimestamp is a timestamp representing the server time when this object was created.", { type: "date" })],
  cells: (o) => [o.metadata.name ?? "", o.metadata.creationTimestamp ?? ""],
};

/** rbac.SubjectsStrings: users, groups and `namespace:name` of service accounts. */
export function subjectsStrings(subjects: readonly Subject[] | undefined): [string, string, string] {
  const of = (kind: Subject["kind"]) => (subjects ?? []).filter((s) => s.kind === kind);
  return [
    of("User").map((s) => s.name).join(", "),
    of("Group").map((s) => s.name).join(", "),
    of("ServiceAccount").map((s) => `${s.namespace ?? ""}:${s.name}`).join(", "),
  ];
}

const binding: Printer = {
  columns: [
    NAME,
    col("Role", "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error. This field is immutable."),
    AGE,
    col("Users", "Users in the roleBinding", wide),
    col("Groups", "Groups in the roleBinding", wide),
    col("ServiceAccounts", "ServiceAccounts in the roleBinding", wide),
  ],
  cells(o, now) {
    const b = o as RoleBinding | ClusterRoleBinding;
    return [b.metadata.name ?? "", `${b.roleRef?.kind ?? ""}/${b.roleRef?.name ?? ""}`, age(b, now), ...subjectsStrings(b.subjects)];
  },
};

const serviceaccounts: Printer = {
  columns: [NAME, col("Secrets", "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.", { type: "integer" }), AGE],
  cells: (o, now) => [o.metadata.name ?? "", ((o as ServiceAccount).secrets ?? []).length, age(o, now)],
};

export const RBAC_PRINTERS: Readonly<Record<string, Printer>> = { serviceaccounts, roles: role, clusterroles: role, rolebindings: binding, clusterrolebindings: binding };
