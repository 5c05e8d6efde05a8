/**
 * Patch metadata for strategic merge patches: for each Kubernetes type, the fields whose lists are
 * merged (not replaced) and by which key, as the `patchStrategy` / `patchMergeKey` struct tags in
 * k8s.io/api say (core/v1, apps/v1 and batch/v1 types.go; apimachinery ObjectMeta). Fields not listed are
 * plain: maps merge recursively, lists are replaced wholesale (args, command, tolerations, taints…).
 * `type` names the field's own type so nested fields can be looked up.
 */
export const PatchStrategy = {
  /** Lists merge element-wise (by mergeKey) or, for primitives, as a set. */
  Merge: "merge",
  /** Maps honour `$retainKeys` (a one-of such as a volume source or a deployment strategy). */
  RetainKeys: "retainKeys",
  MergeRetainKeys: "merge,retainKeys",
} as const;
export type PatchStrategy = (typeof PatchStrategy)[keyof typeof PatchStrategy];

export interface FieldMeta {
  /** The field's type (for lists: the element type), a key of TYPES. */
  type?: string;
  strategy?: PatchStrategy;
  mergeKey?: string;
}
export type TypeMeta = Readonly<Record<string, FieldMeta>>;

const merge = (mergeKey: string | undefined, type?: string): FieldMeta => ({ strategy: PatchStrategy.Merge, mergeKey, type });
const conditions = merge("type");
/** The usual `{ metadata, spec, status }` object of a kind. */
const object = (spec?: string, status?: string): TypeMeta => ({
  metadata: { type: "ObjectMeta" },
  ...(spec ? { spec: { type: spec } } : {}),
  ...(status ? { status: { type: status } } : {}),
});

/** Nested types, referenced by `FieldMeta.type`. */
export const TYPES: Readonly<Record<string, TypeMeta>> = {
  ObjectMeta: { ownerReferences: merge("uid"), finalizers: merge(undefined) },
  PodTemplateSpec: { metadata: { type: "ObjectMeta" }, spec: { type: "PodSpec" } },
  PodSpec: {
    containers: merge("name", "Container"),
    initContainers: merge("name", "Container"),
    ephemeralContainers: merge("name", "Container"),
    volumes: { strategy: PatchStrategy.MergeRetainKeys, mergeKey: "name" },
    imagePullSecrets: merge("name"),
    hostAliases: merge("ip"),
    topologySpreadConstraints: merge("topologyKey"),
    schedulingGates: merge("name"),
    resourceClaims: { strategy: PatchStrategy.MergeRetainKeys, mergeKey: "name" },
  },
  Container: {
    ports: merge("containerPort"),
    env: merge("name"),
    volumeMounts: merge("mountPath"),
    volumeDevices: merge("devicePath"),
  },
  PodStatus: { conditions, podIPs: merge("ip"), hostIPs: merge("ip") },
  DeploymentSpec: {
    template: { type: "PodTemplateSpec" },
    strategy: { strategy: PatchStrategy.RetainKeys },
  },
  ReplicaSetSpec: { template: { type: "PodTemplateSpec" } },
  JobSpec: { template: { type: "PodTemplateSpec" } },
  CronJobSpec: { jobTemplate: { type: "JobTemplateSpec" } },
  JobTemplateSpec: { metadata: { type: "ObjectMeta" }, spec: { type: "JobSpec" } },
  WorkloadStatus: { conditions },
  ServiceSpec: { ports: merge("port") },
  ServiceStatus: { conditions },
  NodeSpec: { podCIDRs: merge(undefined) },
  NodeStatus: { conditions, addresses: merge("type") },
  NamespaceStatus: { conditions },
};

/** The top-level type of each kind that has patch metadata. Other kinds merge as plain JSON. */
export const KINDS: Readonly<Record<string, TypeMeta>> = {
  Pod: object("PodSpec", "PodStatus"),
  Deployment: object("DeploymentSpec", "WorkloadStatus"),
  ReplicaSet: object("ReplicaSetSpec", "WorkloadStatus"),
  ReplicationController: object("ReplicaSetSpec", "WorkloadStatus"),
  DaemonSet: object("ReplicaSetSpec", "WorkloadStatus"),
  StatefulSet: object("ReplicaSetSpec", "WorkloadStatus"),
  ControllerRevision: object(),
  Job: object("JobSpec", "WorkloadStatus"),
  CronJob: object("CronJobSpec"),
  Service: object("ServiceSpec", "ServiceStatus"),
  Node: object("NodeSpec", "NodeStatus"),
  Namespace: object(undefined, "NamespaceStatus"),
  Endpoints: object(),
  ConfigMap: object(),
  Secret: object(),
  Event: object(),
  Lease: object(),
  ServiceAccount: { metadata: { type: "ObjectMeta" }, secrets: merge("name") },
};

/** The patch metadata of a field of `type` (empty: a plain field). */
export function fieldMeta(type: TypeMeta | undefined, field: string): FieldMeta {
  return (type && Object.hasOwn(type, field) ? type[field] : undefined) ?? {};
}

/** The patch metadata of a nested type by name. */
export function typeMeta(name: string | undefined): TypeMeta | undefined {
  return name !== undefined && Object.hasOwn(TYPES, name) ? TYPES[name] : undefined;
}
