/**
 * Component schemas for the served kinds: enough structure for `kubectl explain` and, above all,
 * the strategic-merge extensions (`x-kubernetes-patch-merge-key` / `-patch-strategy` /
 * `x-kubernetes-list-type`) on every list whose merge key matters (kube-api-surface.md §8).
 * Objects keep `x-kubernetes-preserve-unknown-fields`: this is a partial schema, not a validator.
 */
import type { ResourceType } from "../../bus/kinds.ts";

type Json = Record<string, unknown>;

const S = (name: string) => `io.k8s.api.${name}`;
const META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const ref = (name: string) => ({ allOf: [{ $ref: `#/components/schemas/${name}` }] });
const str = { type: "string" };
const int = { type: "integer", format: "int32" };
const strMap = { type: "object", additionalProperties: str };
const obj = (properties: Json, extra: Json = {}): Json => ({ type: "object", properties, "x-kubernetes-preserve-unknown-fields": true, ...extra });
const mergeList = (items: Json, key: string, retainKeys = false): Json => ({
  type: "array",
  items,
  "x-kubernetes-list-type": "map",
  "x-kubernetes-list-map-keys": [key],
  "x-kubernetes-patch-merge-key": key,
  "x-kubernetes-patch-strategy": retainKeys ? "merge,retainKeys" : "merge",
});
const atomic = (items: Json): Json => ({ type: "array", items, "x-kubernetes-list-type": "atomic" });
const conditions = mergeList(obj({ type: str, status: str, reason: str, message: str }), "type");

export function schemaName(rt: ResourceType): string {
  // A custom kind is named by its reversed group, as the apiextensions server names it (com.example.v1.Widget).
  if (rt.custom) return `${rt.group.split(".").reverse().join(".")}.${rt.version}.${rt.kind}`;
  const g = rt.group === "" ? "core" : rt.group.endsWith(".k8s.io") ? rt.group.split(".")[0]! : rt.group;
  return S(`${g}.${rt.version}.${rt.kind}`);
}

const SHARED: Record<string, Json> = {
  [META]: obj({
    name: str,
    generateName: str,
    namespace: str,
    uid: str,
    resourceVersion: str,
    generation: { type: "integer", format: "int64" },
    creationTimestamp: { type: "string", format: "date-time" },
    deletionTimestamp: { type: "string", format: "date-time" },
    labels: strMap,
    annotations: strMap,
    ownerReferences: mergeList(obj({ apiVersion: str, kind: str, name: str, uid: str, controller: { type: "boolean" } }), "uid"),
    finalizers: { type: "array", items: str, "x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": "merge" },
  }),
  [S("core.v1.Container")]: obj({
    name: str,
    image: str,
    command: atomic(str),
    args: atomic(str),
    workingDir: str,
    ports: mergeList(obj({ containerPort: int, name: str, protocol: str, hostPort: int }), "containerPort"),
    env: mergeList(obj({ name: str, value: str }), "name"),
    volumeMounts: mergeList(obj({ name: str, mountPath: str, readOnly: { type: "boolean" } }), "mountPath"),
    volumeDevices: mergeList(obj({ name: str, devicePath: str }), "devicePath"),
    resources: obj({ limits: strMap, requests: strMap }),
    imagePullPolicy: str,
  }),
  [S("core.v1.PodSpec")]: obj({
    containers: mergeList(ref(S("core.v1.Container")), "name"),
    initContainers: mergeList(ref(S("core.v1.Container")), "name"),
    ephemeralContainers: mergeList(obj({ name: str }), "name"),
    volumes: mergeList(obj({ name: str }), "name", true),
    imagePullSecrets: mergeList(obj({ name: str }), "name"),
    hostAliases: mergeList(obj({ ip: str, hostnames: atomic(str) }), "ip"),
    topologySpreadConstraints: mergeList(obj({ topologyKey: str, maxSkew: int, whenUnsatisfiable: str }), "topologyKey"),
    schedulingGates: mergeList(obj({ name: str }), "name"),
    tolerations: atomic(obj({ key: str, operator: str, value: str, effect: str })),
    nodeSelector: strMap,
    nodeName: str,
    restartPolicy: str,
    terminationGracePeriodSeconds: { type: "integer", format: "int64" },
    schedulerName: str,
  }),
  [S("core.v1.PodTemplateSpec")]: obj({ metadata: ref(META), spec: ref(S("core.v1.PodSpec")) }),
  [S("core.v1.PodStatus")]: obj({
    phase: str,
    conditions,
    podIP: str,
    podIPs: mergeList(obj({ ip: str }), "ip"),
    hostIPs: mergeList(obj({ ip: str }), "ip"),
  }),
  "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector": obj({ matchLabels: strMap, matchExpressions: atomic(obj({ key: str, operator: str })) }),
};

const SEL = ref("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector");
const TEMPLATE = ref(S("core.v1.PodTemplateSpec"));
const JOB_SPEC = obj({
  parallelism: int,
  completions: int,
  backoffLimit: int,
  activeDeadlineSeconds: { type: "integer", format: "int64" },
  ttlSecondsAfterFinished: int,
  completionMode: str,
  suspend: { type: "boolean" },
  selector: SEL,
  template: TEMPLATE,
  podFailurePolicy: obj({ rules: atomic(obj({ action: str })) }),
});
const replicaStatus = obj({ replicas: int, readyReplicas: int, availableReplicas: int, observedGeneration: { type: "integer" }, conditions });

const strList = atomic(str);
const POLICY_RULE = obj({ verbs: strList, apiGroups: strList, resources: strList, resourceNames: strList, nonResourceURLs: strList });
const SUBJECT = obj({ kind: str, apiGroup: str, name: str, namespace: str });
const ROLE_REF = obj({ apiGroup: str, kind: str, name: str }, { "x-kubernetes-map-type": "atomic" });

/** spec/status (or other top-level fields) per kind. */
const BODY: Record<string, Json> = {
  Pod: { spec: ref(S("core.v1.PodSpec")), status: ref(S("core.v1.PodStatus")) },
  Namespace: { spec: obj({ finalizers: atomic(str) }), status: obj({ phase: str, conditions }) },
  Node: {
    spec: obj({ unschedulable: { type: "boolean" }, podCIDR: str, taints: atomic(obj({ key: str, value: str, effect: str })) }),
    status: obj({ conditions, addresses: mergeList(obj({ type: str, address: str }), "type"), capacity: strMap, allocatable: strMap }),
  },
  Service: {
    spec: obj({
      type: str,
      clusterIP: str,
      selector: strMap,
      ports: mergeList(obj({ port: int, name: str, protocol: str, nodePort: int }), "port"),
      externalIPs: atomic(str),
    }),
    status: obj({ conditions }),
  },
  Endpoints: { subsets: atomic(obj({})) },
  ConfigMap: { data: strMap, binaryData: strMap, immutable: { type: "boolean" } },
  Secret: { data: strMap, stringData: strMap, type: str, immutable: { type: "boolean" } },
  ReplicationController: { spec: obj({ replicas: int, selector: strMap, template: TEMPLATE }), status: replicaStatus },
  Event: { involvedObject: obj({ kind: str, name: str, namespace: str, uid: str }), reason: str, message: str, type: str, count: int },
  Deployment: {
    spec: obj({
      replicas: int,
      selector: SEL,
      template: TEMPLATE,
      strategy: obj({ type: str, rollingUpdate: obj({}) }, { "x-kubernetes-patch-strategy": "retainKeys" }),
      revisionHistoryLimit: int,
      progressDeadlineSeconds: int,
      paused: { type: "boolean" },
    }),
    status: obj({ ...(replicaStatus.properties as Json), updatedReplicas: int, unavailableReplicas: int }),
  },
  ReplicaSet: { spec: obj({ replicas: int, selector: SEL, template: TEMPLATE }), status: replicaStatus },
  DaemonSet: {
    spec: obj({ selector: SEL, template: TEMPLATE, updateStrategy: obj({ type: str, rollingUpdate: obj({}) }), minReadySeconds: int, revisionHistoryLimit: int }),
    status: obj({ desiredNumberScheduled: int, currentNumberScheduled: int, numberReady: int, updatedNumberScheduled: int, numberAvailable: int, numberMisscheduled: int, conditions }),
  },
  StatefulSet: {
    spec: obj({
      replicas: int,
      selector: SEL,
      template: TEMPLATE,
      serviceName: str,
      podManagementPolicy: str,
      updateStrategy: obj({ type: str, rollingUpdate: obj({ partition: int }) }),
      volumeClaimTemplates: atomic(obj({})),
      revisionHistoryLimit: int,
    }),
    status: obj({ ...(replicaStatus.properties as Json), currentReplicas: int, updatedReplicas: int, currentRevision: str, updateRevision: str }),
  },
  ControllerRevision: { data: obj({}), revision: { type: "integer", format: "int64" } },
  Job: { spec: JOB_SPEC, status: obj({ active: int, succeeded: int, failed: int, startTime: str, completionTime: str, conditions }) },
  CronJob: {
    spec: obj({ schedule: str, timeZone: str, concurrencyPolicy: str, suspend: { type: "boolean" }, startingDeadlineSeconds: int, jobTemplate: obj({ metadata: ref(META), spec: JOB_SPEC }) }),
    status: obj({ active: atomic(obj({ name: str, namespace: str, uid: str })), lastScheduleTime: str, lastSuccessfulTime: str }),
  },
  Lease: { spec: obj({ holderIdentity: str, leaseDurationSeconds: int, acquireTime: str, renewTime: str, leaseTransitions: int }) },
  ServiceAccount: { secrets: mergeList(obj({ name: str, namespace: str, kind: str }), "name"), imagePullSecrets: atomic(obj({ name: str })), automountServiceAccountToken: { type: "boolean" } },
  Role: { rules: atomic(POLICY_RULE) },
  ClusterRole: { rules: atomic(POLICY_RULE), aggregationRule: obj({ clusterRoleSelectors: atomic(SEL) }) },
  RoleBinding: { subjects: atomic(SUBJECT), roleRef: ROLE_REF },
  ClusterRoleBinding: { subjects: atomic(SUBJECT), roleRef: ROLE_REF },
  HorizontalPodAutoscaler: {
    spec: obj({
      scaleTargetRef: obj({ apiVersion: str, kind: str, name: str }),
      minReplicas: int,
      maxReplicas: int,
      targetCPUUtilizationPercentage: int,
      metrics: atomic(obj({ type: str, resource: obj({ name: str, target: obj({ type: str, averageUtilization: int, averageValue: str, value: str }) }) })),
      behavior: obj({
        scaleUp: obj({ stabilizationWindowSeconds: int, selectPolicy: str, policies: atomic(obj({ type: str, value: int, periodSeconds: int })) }),
        scaleDown: obj({ stabilizationWindowSeconds: int, selectPolicy: str, policies: atomic(obj({ type: str, value: int, periodSeconds: int })) }),
      }),
    }),
    status: obj({ observedGeneration: { type: "integer", format: "int64" }, lastScaleTime: str, currentReplicas: int, desiredReplicas: int, currentCPUUtilizationPercentage: int, currentMetrics: atomic(obj({ type: str })), conditions }),
  },
};

export function schemasFor(rts: readonly ResourceType[]): Record<string, Json> {
  const out: Record<string, Json> = { ...SHARED };
  for (const rt of rts) {
    const custom = rt.custom?.versions.find((v) => v.name === rt.version);
    if (rt.custom) {
      const given = (custom?.schema ?? { type: "object", "x-kubernetes-preserve-unknown-fields": true }) as Json;
      const properties = { ...((given.properties as Json | undefined) ?? {}) };
      out[schemaName(rt)] = {
        ...given,
        type: "object",
        properties: {
          apiVersion: { type: "string", description: "APIVersion defines the versioned schema of this representation of an object." },
          kind: { type: "string", description: "Kind is a string value representing the REST resource this object represents." },
          metadata: { ...ref(META), description: "Standard object's metadata." },
          ...properties,
        },
        "x-kubernetes-group-version-kind": [{ group: rt.group, version: rt.version, kind: rt.kind }],
      };
      continue;
    }
    out[schemaName(rt)] = obj(
      { apiVersion: str, kind: str, metadata: ref(META), ...(BODY[rt.kind] ?? {}) },
      { "x-kubernetes-group-version-kind": [{ group: rt.group, version: rt.version, kind: rt.kind }] },
    );
  }
  return out;
}
