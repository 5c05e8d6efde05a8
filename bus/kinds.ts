/**
 * The registry of resource types Flotilla serves: the one place that knows a resource's plural,
 * kind, API group, scope, short names and which KV bucket holds it.
 */
export type BucketName = "main" | "events" | "leases";

export interface ResourceType {
  /** Plural, lower case: the URL segment and the first KV key token. */
  resource: string;
  singular: string;
  kind: string;
  group: string; // "" for core
  version: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  subresources: string[];
  bucket: BucketName;
  /** Set for a type a CustomResourceDefinition serves (bus/crd.ts): its versions and schemas. */
  custom?: CustomResource;
}

/** What a served CustomResourceDefinition adds to its type; `version` above is the storage version. */
export interface CustomResource {
  /** The CRD's name (`<plural>.<group>`). */
  crd: string;
  /** Served versions, in the CRD's order. */
  versions: CustomVersion[];
  /** The CRD is being deleted: its objects can be read and deleted, not created. */
  terminating?: boolean;
}
export interface CustomVersion {
  name: string;
  /** openAPIV3Schema (JSON Schema props, structural). */
  schema?: Record<string, unknown>;
  printerColumns: { name: string; type: string; format?: string; description?: string; priority?: number; jsonPath: string }[];
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
}

function t(
  resource: string,
  kind: string,
  group: string,
  namespaced: boolean,
  shortNames: string[],
  opts: Partial<Pick<ResourceType, "categories" | "subresources" | "bucket">> = {},
): ResourceType {
  return {
    resource,
    singular: kind.toLowerCase(),
    kind,
    group,
    version: "v1",
    namespaced,
    shortNames,
    categories: opts.categories ?? [],
    subresources: opts.subresources ?? [],
    bucket: opts.bucket ?? "main",
  };
}

export const RBAC_GROUP = "rbac.authorization.k8s.io";

export const RESOURCE_TYPES: readonly ResourceType[] = [
  t("namespaces", "Namespace", "", false, ["ns"], { subresources: ["status"] }),
  t("nodes", "Node", "", false, ["no"], { subresources: ["status"] }),
  t("pods", "Pod", "", true, ["po"], { categories: ["all"], subresources: ["status", "binding", "eviction", "log", "exec", "attach", "portforward"] }),
  t("services", "Service", "", true, ["svc"], { categories: ["all"], subresources: ["status"] }),
  t("endpoints", "Endpoints", "", true, ["ep"]),
  t("configmaps", "ConfigMap", "", true, ["cm"]),
  t("secrets", "Secret", "", true, []),
  t("serviceaccounts", "ServiceAccount", "", true, ["sa"], { subresources: ["token"] }),
  t("replicationcontrollers", "ReplicationController", "", true, ["rc"], { categories: ["all"], subresources: ["status", "scale"] }),
  t("events", "Event", "", true, ["ev"], { bucket: "events" }),
  t("controllerrevisions", "ControllerRevision", "apps", true, []),
  t("daemonsets", "DaemonSet", "apps", true, ["ds"], { categories: ["all"], subresources: ["status"] }),
  t("deployments", "Deployment", "apps", true, ["deploy"], { categories: ["all"], subresources: ["status", "scale"] }),
  t("replicasets", "ReplicaSet", "apps", true, ["rs"], { categories: ["all"], subresources: ["status", "scale"] }),
  t("statefulsets", "StatefulSet", "apps", true, ["sts"], { categories: ["all"], subresources: ["status", "scale"] }),
  t("cronjobs", "CronJob", "batch", true, ["cj"], { categories: ["all"], subresources: ["status"] }),
  t("jobs", "Job", "batch", true, [], { categories: ["all"], subresources: ["status"] }),
  t("leases", "Lease", "coordination.k8s.io", true, [], { bucket: "leases" }),
  t("clusterrolebindings", "ClusterRoleBinding", RBAC_GROUP, false, []),
  t("clusterroles", "ClusterRole", RBAC_GROUP, false, []),
  t("rolebindings", "RoleBinding", RBAC_GROUP, true, []),
  t("roles", "Role", RBAC_GROUP, true, []),
  t("customresourcedefinitions", "CustomResourceDefinition", "apiextensions.k8s.io", false, ["crd", "crds"], { categories: ["api-extensions"], subresources: ["status"] }),
  t("resourcequotas", "ResourceQuota", "", true, ["quota"], { subresources: ["status"] }),
  t("limitranges", "LimitRange", "", true, ["limits"]),
  t("poddisruptionbudgets", "PodDisruptionBudget", "policy", true, ["pdb"], { subresources: ["status"] }),
  t("persistentvolumes", "PersistentVolume", "", false, ["pv"], { subresources: ["status"] }),
  t("persistentvolumeclaims", "PersistentVolumeClaim", "", true, ["pvc"], { subresources: ["status"] }),
  t("storageclasses", "StorageClass", "storage.k8s.io", false, ["sc"]),
  { ...t("horizontalpodautoscalers", "HorizontalPodAutoscaler", "autoscaling", true, ["hpa"], { categories: ["all"], subresources: ["status"] }), version: "v2" },
  t("ingresses", "Ingress", "networking.k8s.io", true, ["ing"], { subresources: ["status"] }),
  t("ingressclasses", "IngressClass", "networking.k8s.io", false, []),
  t("networkpolicies", "NetworkPolicy", "networking.k8s.io", true, ["netpol"]),
  t("endpointslices", "EndpointSlice", "discovery.k8s.io", true, []),
];
// Endpoints' singular is "endpoints" in Kubernetes.
(RESOURCE_TYPES.find((r) => r.resource === "endpoints") as ResourceType).singular = "endpoints";

/**
 * Kinds a client only ever creates and the api-server answers at once, never stored (the access
 * and identity reviews). Served for `create` only; not in the store, caches or informers.
 */
export const REVIEW_TYPES: readonly ResourceType[] = [
  t("selfsubjectaccessreviews", "SelfSubjectAccessReview", "authorization.k8s.io", false, []),
  t("selfsubjectrulesreviews", "SelfSubjectRulesReview", "authorization.k8s.io", false, []),
  t("subjectaccessreviews", "SubjectAccessReview", "authorization.k8s.io", false, []),
  t("selfsubjectreviews", "SelfSubjectReview", "authentication.k8s.io", false, []),
  t("tokenreviews", "TokenReview", "authentication.k8s.io", false, []),
];
export const isReview = (rt: ResourceType) => REVIEW_TYPES.includes(rt);

/**
 * metrics.k8s.io/v1beta1 (metrics-server's API): answered by the api-server from the kubelets'
 * reports (bus/metrics.ts), read-only (get, list), never stored.
 */
export const METRICS_GROUP = "metrics.k8s.io";
export const METRICS_TYPES: readonly ResourceType[] = [
  { ...t("nodes", "NodeMetrics", METRICS_GROUP, false, []), version: "v1beta1" },
  { ...t("pods", "PodMetrics", METRICS_GROUP, true, []), version: "v1beta1" },
];
export const isMetrics = (rt: ResourceType) => rt.group === METRICS_GROUP;

/** HorizontalPodAutoscalers are stored as autoscaling/v2 and also served as autoscaling/v1 (actors/api-server/autoscaling-v1.ts). */
export const HPA_V1: ResourceType = { ...RESOURCE_TYPES.find((r) => r.resource === "horizontalpodautoscalers")!, version: "v1" };
export const isHpaV1 = (rt: ResourceType) => rt.group === HPA_V1.group && rt.resource === HPA_V1.resource && rt.version === "v1";

const byResource = new Map(RESOURCE_TYPES.map((r) => [r.resource, r]));
const byKind = new Map(RESOURCE_TYPES.map((r) => [r.kind, r]));

export function resourceType(resource: string): ResourceType | undefined {
  return byResource.get(resource);
}
export function resourceForKind(kind: string): ResourceType | undefined {
  return byKind.get(kind);
}
export function apiVersionOf(rt: ResourceType): string {
  return rt.group ? `${rt.group}/${rt.version}` : rt.version;
}
/** Finds a type by plural, singular, short name or kind (case-insensitive), as kubectl resolves names. */
export function lookupResource(name: string): ResourceType | undefined {
  const n = name.toLowerCase().split(".")[0]!;
  return RESOURCE_TYPES.find(
    (r) => r.resource === n || r.singular === n || r.shortNames.includes(n) || r.kind.toLowerCase() === n,
  );
}
/** The resources of one API group/version, in discovery order. */
export function resourcesOfGroup(group: string, version = "v1"): ResourceType[] {
  return RESOURCE_TYPES.filter((r) => r.group === group && r.version === version);
}
export const API_GROUPS = [...new Set([...RESOURCE_TYPES, ...REVIEW_TYPES, ...METRICS_TYPES, HPA_V1].map((r) => r.group).filter((g) => g !== ""))];
