/** Shared helpers for the admission specs: a fixed clock, minimal valid objects and error probes. */
import { expect } from "chai";
import type { KubeObject } from "../../../bus/resources.ts";
import type { AdmissionContext } from "../../../actors/store/admission/index.ts";
import { admit } from "../../../actors/store/admission/index.ts";
import { resourceType } from "../../../bus/kinds.ts";
import { FlotillaError, ErrorCode } from "../../../bus/errors.ts";

export const NOW = new Date("2026-03-01T12:00:00.000Z");
/** Specs poke at arbitrary, sometimes deliberately wrong, shapes: a loose JSON object type. */
export type Obj = { metadata: Record<string, any>; [field: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

export function rt(resource: string) {
  const t = resourceType(resource);
  if (!t) throw new Error(`unknown resource ${resource}`);
  return t;
}

export function create(resource: string, obj: unknown, options?: AdmissionContext["options"]): Obj {
  return admit(rt(resource), obj as KubeObject, { now: () => NOW, operation: "create", options }) as unknown as Obj;
}
export function update(resource: string, obj: unknown, old: unknown): Obj {
  return admit(rt(resource), obj as KubeObject, { now: () => NOW, operation: "update", old: old as KubeObject }) as unknown as Obj;
}
export function status(resource: string, obj: unknown, old: unknown): Obj {
  return admit(rt(resource), obj as KubeObject, { now: () => NOW, operation: "status", old: old as KubeObject }) as unknown as Obj;
}

/** Runs `fn`, expects an Invalid FlotillaError and returns it. */
export function rejected(fn: () => unknown): FlotillaError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(FlotillaError);
    expect((e as FlotillaError).code, (e as Error).message).to.equal(ErrorCode.Invalid);
    return e as FlotillaError;
  }
  expect.fail("the object was admitted");
}
export const fieldsOf = (e: FlotillaError): string[] => (e.details?.causes ?? []).map((c) => c.field);
/** The cause for one field (fails when absent). */
export function causeAt(e: FlotillaError, field: string) {
  const c = (e.details?.causes ?? []).find((x) => x.field === field);
  expect(c, `no cause at ${field} in: ${e.message}`).to.not.equal(undefined);
  return c!;
}

export const clone = <T>(o: T): T => structuredClone(o);

const container = { name: "app", image: "registry.local/app:1.2" };
const labels = { app: "web" };
const template = { metadata: { labels }, spec: { containers: [container] } };

/** The smallest valid object of each registered resource. */
export const MINIMAL: Record<string, Obj> = {
  namespaces: { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a" } },
  nodes: { apiVersion: "v1", kind: "Node", metadata: { name: "node-1" }, spec: {} },
  pods: { apiVersion: "v1", kind: "Pod", metadata: { name: "web-1", namespace: "default" }, spec: { containers: [container] } },
  services: { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "default" }, spec: { selector: labels, ports: [{ port: 80 }] } },
  endpoints: {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { name: "web", namespace: "default" },
    subsets: [{ addresses: [{ ip: "127.0.0.1" }], ports: [{ port: 8080 }] }],
  },
  configmaps: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg", namespace: "default" }, data: { "app.conf": "x=1" } },
  secrets: { apiVersion: "v1", kind: "Secret", metadata: { name: "creds", namespace: "default" }, stringData: { password: "hunter2" } },
  replicationcontrollers: { apiVersion: "v1", kind: "ReplicationController", metadata: { name: "web", namespace: "default" }, spec: { template } },
  events: {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: "web-1.17f0", namespace: "default" },
    involvedObject: { kind: "Pod", name: "web-1", namespace: "default" },
    reason: "Scheduled",
    message: "Successfully assigned default/web-1 to node-1",
  },
  deployments: { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "default" }, spec: { selector: { matchLabels: labels }, template } },
  replicasets: { apiVersion: "apps/v1", kind: "ReplicaSet", metadata: { name: "web-5d8f", namespace: "default" }, spec: { selector: { matchLabels: labels }, template } },
  daemonsets: { apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: "agent", namespace: "default" }, spec: { selector: { matchLabels: labels }, template } },
  statefulsets: {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "db", namespace: "default" },
    spec: { serviceName: "db", selector: { matchLabels: labels }, template },
  },
  controllerrevisions: {
    apiVersion: "apps/v1",
    kind: "ControllerRevision",
    metadata: { name: "agent-5d8f6b9c7", namespace: "default" },
    data: { spec: { template: { ...template, $patch: "replace" } } },
    revision: 1,
  },
  jobs: {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "pi", namespace: "default" },
    spec: { template: { spec: { containers: [container], restartPolicy: "Never" } } },
  },
  cronjobs: {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "tick", namespace: "default" },
    spec: { schedule: "*/1 * * * *", jobTemplate: { spec: { template: { spec: { containers: [container], restartPolicy: "OnFailure" } } } } },
  },
  leases: {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: "node-1", namespace: "kube-node-lease" },
    spec: { holderIdentity: "node-1", leaseDurationSeconds: 10, renewTime: "2026-03-01T12:00:00.000000Z" },
  },
  serviceaccounts: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "builder", namespace: "default" } },
  roles: {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: "pod-reader", namespace: "default" },
    rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] }],
  },
  clusterroles: {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: "system:node-reader" },
    rules: [{ apiGroups: [""], resources: ["nodes"], verbs: ["get"] }, { nonResourceURLs: ["/healthz"], verbs: ["get"] }],
  },
  rolebindings: {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "read-pods", namespace: "default" },
    subjects: [{ kind: "User", name: "jane", apiGroup: "rbac.authorization.k8s.io" }],
    roleRef: { kind: "Role", name: "pod-reader", apiGroup: "rbac.authorization.k8s.io" },
  },
  clusterrolebindings: {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "read-nodes" },
    subjects: [{ kind: "Group", name: "system:authenticated", apiGroup: "rbac.authorization.k8s.io" }],
    roleRef: { kind: "ClusterRole", name: "system:node-reader", apiGroup: "rbac.authorization.k8s.io" },
  },
  customresourcedefinitions: {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "widgets.example.com" },
    spec: {
      group: "example.com",
      scope: "Namespaced",
      names: { plural: "widgets", kind: "Widget" },
      versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } }],
    },
  },
  resourcequotas: { apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "q", namespace: "default" }, spec: { hard: { pods: "10" } } },
  limitranges: { apiVersion: "v1", kind: "LimitRange", metadata: { name: "l", namespace: "default" }, spec: { limits: [{ type: "Container", default: { cpu: "500m" } }] } },
  poddisruptionbudgets: {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: "web", namespace: "default" },
    spec: { minAvailable: 1, selector: { matchLabels: { app: "web" } } },
  },
  persistentvolumes: { apiVersion: "v1", kind: "PersistentVolume", metadata: { name: "pv-1" }, spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], hostPath: { path: "/data/pv-1" } } },
  persistentvolumeclaims: { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "data", namespace: "default" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } },
  storageclasses: { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "fast" }, provisioner: "example.com/fast" },
  horizontalpodautoscalers: {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name: "web", namespace: "default" },
    spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" }, maxReplicas: 3 },
  },
  ingresses: {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "web", namespace: "default" },
    spec: { rules: [{ host: "foo.test", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "web", port: { number: 80 } } } }] } }] },
  },
  ingressclasses: { apiVersion: "networking.k8s.io/v1", kind: "IngressClass", metadata: { name: "flotilla" }, spec: { controller: "flotilla.io/ingress" } },
  networkpolicies: { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "deny", namespace: "default" }, spec: { podSelector: {}, policyTypes: ["Ingress"] } },
  endpointslices: { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", metadata: { name: "web-abc", namespace: "default" }, addressType: "IPv4", endpoints: [{ addresses: ["10.244.1.2"] }], ports: [{ name: "", port: 80, protocol: "TCP" }] },
};
export const minimal = (resource: string): Obj => clone(MINIMAL[resource]!);

/** A stored object: what create returned plus the fields the store adds. */
export function stored(resource: string, obj: unknown = minimal(resource)): Obj {
  const out = create(resource, obj);
  out.metadata.uid = "11111111-2222-3333-4444-555555555555";
  out.metadata.creationTimestamp = "2026-03-01T11:00:00Z";
  out.metadata.resourceVersion = "7";
  return out;
}
