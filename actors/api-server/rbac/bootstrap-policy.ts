/**
 * The default ClusterRoles and ClusterRoleBindings (Kubernetes' plugin/pkg/auth/authorizer/rbac/
 * bootstrappolicy, trimmed to the resources Flotilla serves and will serve). Data only.
 *
 * - `cluster-admin`: everything; bound to the group `system:masters`.
 * - `admin`, `edit`, `view`: aggregated, as in Kubernetes, from the ClusterRoles labelled
 *   `rbac.authorization.k8s.io/aggregate-to-<role>: "true"` (`system:aggregate-to-*` here, and any
 *   a user adds). Their rules are written filled in, so they work before the aggregation
 *   controller has run. `view` reads no Secrets; `edit` adds writes and Secrets; `admin` adds
 *   Roles and RoleBindings.
 * - `system:discovery`, `system:basic-user`, `system:public-info-viewer`: what every
 *   authenticated user needs (discovery, OpenAPI, the self reviews).
 * - One `system:` role per actor kind, bound to the user of the same name.
 * - `flotilla:view`: the token file's view group gets `view` everywhere, and
 *   `flotilla:cluster-viewer` (Nodes, Leases: what the dashboard shows).
 */
import type { ClusterRole, ClusterRoleBinding, PolicyRule, Subject } from "../../../bus/resources.ts";
import { RBAC_GROUP } from "../../../bus/kinds.ts";
import { AUTHENTICATED_GROUP, MASTERS_GROUP } from "./authorizer.ts";

export const AUTOUPDATE_ANNOTATION = "rbac.authorization.kubernetes.io/autoupdate";
export const BOOTSTRAP_LABEL = "kubernetes.io/bootstrapping";
export const aggregateLabel = (role: string) => `rbac.authorization.k8s.io/aggregate-to-${role}`;
export const VIEW_GROUP = "flotilla:view";

const READ = ["get", "list", "watch"];
const WRITE = ["create", "delete", "deletecollection", "patch", "update"];
const READ_WRITE = [...READ, ...WRITE];

const rule = (verbs: string[], apiGroups: string[], resources: string[]): PolicyRule => ({ apiGroups, resources, verbs });
const urls = (verbs: string[], nonResourceURLs: string[]): PolicyRule => ({ nonResourceURLs, verbs });

function clusterRole(name: string, rules: PolicyRule[], labels: Record<string, string> = {}, aggregateFrom?: string): ClusterRole {
  const r: ClusterRole = {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: "ClusterRole",
    metadata: { name, labels: { [BOOTSTRAP_LABEL]: "rbac-defaults", ...labels }, annotations: { [AUTOUPDATE_ANNOTATION]: "true" } },
    rules,
  };
  if (aggregateFrom) r.aggregationRule = { clusterRoleSelectors: [{ matchLabels: { [aggregateLabel(aggregateFrom)]: "true" } }] };
  return r;
}

const group = (name: string): Subject => ({ kind: "Group", apiGroup: RBAC_GROUP, name });
const user = (name: string): Subject => ({ kind: "User", apiGroup: RBAC_GROUP, name });

function binding(name: string, role: string, subjects: Subject[]): ClusterRoleBinding {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: "ClusterRoleBinding",
    metadata: { name, labels: { [BOOTSTRAP_LABEL]: "rbac-defaults" }, annotations: { [AUTOUPDATE_ANNOTATION]: "true" } },
    roleRef: { apiGroup: RBAC_GROUP, kind: "ClusterRole", name: role },
    subjects,
  };
}

const VIEW_RULES: PolicyRule[] = [
  rule(READ, [""], ["pods", "pods/log", "pods/status", "replicationcontrollers", "replicationcontrollers/scale", "replicationcontrollers/status", "serviceaccounts", "services", "services/status", "endpoints", "configmaps", "events", "persistentvolumeclaims", "persistentvolumeclaims/status", "limitranges", "resourcequotas", "resourcequotas/status", "bindings", "namespaces", "namespaces/status"]),
  rule(READ, ["apps"], ["controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status", "replicasets", "replicasets/scale", "replicasets/status", "statefulsets", "statefulsets/scale", "statefulsets/status"]),
  rule(READ, ["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]),
  rule(READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
  rule(READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
  rule(READ, ["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"]),
  rule(READ, ["discovery.k8s.io"], ["endpointslices"]),
];

const EDIT_RULES: PolicyRule[] = [
  rule(READ_WRITE, [""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"]),
  rule(["create"], [""], ["pods/eviction"]),
  rule(READ, [""], ["secrets", "services/proxy"]),
  rule(WRITE, [""], ["configmaps", "events", "persistentvolumeclaims", "replicationcontrollers", "replicationcontrollers/scale", "secrets", "serviceaccounts", "services", "services/proxy", "endpoints"]),
  rule(["create"], [""], ["serviceaccounts/token"]),
  rule(["impersonate"], [""], ["serviceaccounts"]),
  rule(WRITE, ["apps"], ["daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets", "replicasets/scale", "statefulsets", "statefulsets/scale"]),
  rule(WRITE, ["batch"], ["cronjobs", "jobs"]),
  rule(WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
  rule(WRITE, ["policy"], ["poddisruptionbudgets"]),
  rule(WRITE, ["networking.k8s.io"], ["ingresses", "networkpolicies"]),
  rule(WRITE, ["discovery.k8s.io"], ["endpointslices"]),
];

const ADMIN_RULES: PolicyRule[] = [
  rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
  rule(READ_WRITE, [RBAC_GROUP], ["rolebindings", "roles"]),
];

const DISCOVERY_URLS = ["/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*", "/version", "/version/", "/healthz", "/livez", "/readyz", "/flotilla/v1/whoami", "/flotilla/v1/actors"];

/** Every default ClusterRole, in creation order (the aggregated pieces before the roles that hold them). */
export const DEFAULT_CLUSTER_ROLES: readonly ClusterRole[] = [
  clusterRole("cluster-admin", [rule(["*"], ["*"], ["*"]), urls(["*"], ["*"])]),
  clusterRole("system:aggregate-to-view", VIEW_RULES, { [aggregateLabel("view")]: "true" }),
  clusterRole("system:aggregate-to-edit", EDIT_RULES, { [aggregateLabel("edit")]: "true" }),
  clusterRole("system:aggregate-to-admin", ADMIN_RULES, { [aggregateLabel("admin")]: "true" }),
  clusterRole("view", VIEW_RULES, { [aggregateLabel("edit")]: "true" }, "view"),
  clusterRole("edit", [...VIEW_RULES, ...EDIT_RULES], { [aggregateLabel("admin")]: "true" }, "edit"),
  clusterRole("admin", [...VIEW_RULES, ...EDIT_RULES, ...ADMIN_RULES], {}, "admin"),
  clusterRole("system:discovery", [urls(["get"], DISCOVERY_URLS)]),
  clusterRole("system:public-info-viewer", [urls(["get"], ["/healthz", "/livez", "/readyz", "/version", "/version/"])]),
  clusterRole("system:basic-user", [rule(["create"], ["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]), rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"])]),
  clusterRole("system:kube-scheduler", [
    rule(READ, ["", "apps", "policy"], ["nodes", "pods", "services", "namespaces", "replicationcontrollers", "replicasets", "statefulsets", "poddisruptionbudgets"]),
    rule(["create"], [""], ["pods/binding", "bindings"]),
    rule(["patch", "update"], [""], ["pods/status"]),
    rule(["create", "patch", "update"], ["", "events.k8s.io"], ["events"]),
    rule(["create", "get", "update"], ["coordination.k8s.io"], ["leases"]),
  ]),
  clusterRole("system:kube-controller-manager", [rule(["*"], ["*"], ["*"])]),
  clusterRole("system:node", [
    rule(READ, [""], ["pods", "nodes", "services", "endpoints", "configmaps", "secrets", "namespaces"]),
    rule(["create", "get", "list", "watch", "patch", "update", "delete"], [""], ["nodes", "nodes/status", "pods", "pods/status"]),
    rule(["create", "patch", "update"], [""], ["events"]),
    rule(["create", "get", "update", "delete"], ["coordination.k8s.io"], ["leases"]),
    rule(["create"], [""], ["serviceaccounts/token"]),
  ]),
  // The token file's viewers see the whole cluster, as the dashboard shows it: `view` (namespaced
  // objects, no Secrets) plus the cluster-scoped objects `view` leaves out.
  clusterRole("flotilla:cluster-viewer", [rule(READ, [""], ["nodes", "nodes/status", "persistentvolumes"]), rule(READ, ["coordination.k8s.io"], ["leases"]), rule(READ, ["storage.k8s.io"], ["storageclasses"])]),
  clusterRole("system:node-proxier", [rule(READ, ["", "discovery.k8s.io"], ["services", "endpoints", "nodes", "endpointslices"]), rule(["create", "patch", "update"], [""], ["events"])]),
];

export const DEFAULT_CLUSTER_ROLE_BINDINGS: readonly ClusterRoleBinding[] = [
  binding("cluster-admin", "cluster-admin", [group(MASTERS_GROUP)]),
  binding("system:discovery", "system:discovery", [group(AUTHENTICATED_GROUP)]),
  binding("system:basic-user", "system:basic-user", [group(AUTHENTICATED_GROUP)]),
  binding("system:public-info-viewer", "system:public-info-viewer", [group(AUTHENTICATED_GROUP), group("system:unauthenticated")]),
  binding("system:kube-scheduler", "system:kube-scheduler", [user("system:kube-scheduler")]),
  binding("system:kube-controller-manager", "system:kube-controller-manager", [user("system:kube-controller-manager")]),
  binding("system:node", "system:node", [group("system:nodes")]),
  binding("system:node-proxier", "system:node-proxier", [user("system:kube-proxy")]),
  binding("flotilla:view", "view", [group(VIEW_GROUP)]),
  binding("flotilla:cluster-viewer", "flotilla:cluster-viewer", [group(VIEW_GROUP)]),
];
