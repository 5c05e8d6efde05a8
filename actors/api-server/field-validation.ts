/**
 * Server-side field validation (`?fieldValidation=Strict|Warn|Ignore`, kubectl sends Strict): the
 * unknown fields of a request body, for the types whose field sets are listed here (top level,
 * ObjectMeta, every served spec, PodTemplateSpec, PodSpec, Container). Deeper or unlisted types are
 * not checked. Patch directives (`$patch`, `$setElementOrder/…`) are not fields. Pure.
 */
import type { ResourceType } from "../../bus/kinds.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { prune } from "../../bus/structural.ts";

type Shape = { fields: readonly string[]; nested?: Record<string, string>; lists?: Record<string, string> };

const META = ["name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers", "managedFields"];
const CONTAINER = ["name", "image", "command", "args", "workingDir", "ports", "envFrom", "env", "resources", "resizePolicy", "restartPolicy", "volumeMounts", "volumeDevices", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "terminationMessagePath", "terminationMessagePolicy", "imagePullPolicy", "securityContext", "stdin", "stdinOnce", "tty"];
const POD_SPEC = ["volumes", "initContainers", "containers", "ephemeralContainers", "restartPolicy", "terminationGracePeriodSeconds", "activeDeadlineSeconds", "dnsPolicy", "nodeSelector", "serviceAccountName", "serviceAccount", "automountServiceAccountToken", "nodeName", "hostNetwork", "hostPID", "hostIPC", "shareProcessNamespace", "securityContext", "imagePullSecrets", "hostname", "subdomain", "affinity", "schedulerName", "tolerations", "hostAliases", "priorityClassName", "priority", "dnsConfig", "readinessGates", "runtimeClassName", "enableServiceLinks", "preemptionPolicy", "overhead", "topologySpreadConstraints", "setHostnameAsFQDN", "os", "hostUsers", "schedulingGates", "resourceClaims", "resources"];
const TEMPLATE_OWNER = { nested: { template: "PodTemplateSpec" } };

const SHAPES: Record<string, Shape> = {
  ObjectMeta: { fields: META },
  Container: { fields: CONTAINER },
  PodSpec: { fields: POD_SPEC, lists: { containers: "Container", initContainers: "Container" } },
  PodTemplateSpec: { fields: ["metadata", "spec"], nested: { metadata: "ObjectMeta", spec: "PodSpec" } },
  DeploymentSpec: { fields: ["replicas", "selector", "template", "strategy", "minReadySeconds", "revisionHistoryLimit", "paused", "progressDeadlineSeconds"], ...TEMPLATE_OWNER },
  ReplicaSetSpec: { fields: ["replicas", "minReadySeconds", "selector", "template"], ...TEMPLATE_OWNER },
  ServiceSpec: {
    fields: ["ports", "selector", "clusterIP", "clusterIPs", "type", "externalIPs", "sessionAffinity", "loadBalancerIP", "loadBalancerSourceRanges", "externalName", "externalTrafficPolicy", "healthCheckNodePort", "publishNotReadyAddresses", "sessionAffinityConfig", "ipFamilies", "ipFamilyPolicy", "allocateLoadBalancerNodePorts", "loadBalancerClass", "internalTrafficPolicy", "trafficDistribution"],
  },
  NodeSpec: { fields: ["podCIDR", "podCIDRs", "providerID", "unschedulable", "taints", "configSource", "externalID"] },
  NamespaceSpec: { fields: ["finalizers"] },
  PolicyRule: { fields: ["verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs"] },
  Subject: { fields: ["kind", "apiGroup", "name", "namespace"] },
  RoleRef: { fields: ["apiGroup", "kind", "name"] },
  LeaseSpec: { fields: ["holderIdentity", "leaseDurationSeconds", "acquireTime", "renewTime", "leaseTransitions", "strategy", "preferredHolder"] },
};

const TOP = ["apiVersion", "kind", "metadata"];
const withSpec = (spec: string): Shape => ({ fields: [...TOP, "spec", "status"], nested: { metadata: "ObjectMeta", spec } });
const KINDS: Record<string, Shape> = {
  Pod: withSpec("PodSpec"),
  Namespace: withSpec("NamespaceSpec"),
  Node: withSpec("NodeSpec"),
  Service: withSpec("ServiceSpec"),
  ReplicationController: withSpec("ReplicaSetSpec"),
  ReplicaSet: withSpec("ReplicaSetSpec"),
  Deployment: withSpec("DeploymentSpec"),
  Lease: { fields: [...TOP, "spec"], nested: { metadata: "ObjectMeta", spec: "LeaseSpec" } },
  Endpoints: { fields: [...TOP, "subsets"], nested: { metadata: "ObjectMeta" } },
  ConfigMap: { fields: [...TOP, "data", "binaryData", "immutable"], nested: { metadata: "ObjectMeta" } },
  Secret: { fields: [...TOP, "data", "stringData", "type", "immutable"], nested: { metadata: "ObjectMeta" } },
  Role: { fields: [...TOP, "rules"], nested: { metadata: "ObjectMeta" }, lists: { rules: "PolicyRule" } },
  ClusterRole: { fields: [...TOP, "rules", "aggregationRule"], nested: { metadata: "ObjectMeta" }, lists: { rules: "PolicyRule" } },
  RoleBinding: { fields: [...TOP, "subjects", "roleRef"], nested: { metadata: "ObjectMeta", roleRef: "RoleRef" }, lists: { subjects: "Subject" } },
  ClusterRoleBinding: { fields: [...TOP, "subjects", "roleRef"], nested: { metadata: "ObjectMeta", roleRef: "RoleRef" }, lists: { subjects: "Subject" } },
  Event: {
    fields: [...TOP, "involvedObject", "reason", "message", "source", "firstTimestamp", "lastTimestamp", "count", "type", "eventTime", "series", "action", "related", "reportingComponent", "reportingInstance"],
    nested: { metadata: "ObjectMeta" },
  },
};

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function walk(shape: Shape, v: Record<string, unknown>, path: string, out: string[]): void {
  for (const [k, val] of Object.entries(v)) {
    if (k.startsWith("$")) continue;
    const p = path ? `${path}.${k}` : k;
    if (!shape.fields.includes(k)) {
      out.push(p);
      continue;
    }
    const nested = shape.nested?.[k];
    if (nested && isObj(val)) walk(SHAPES[nested]!, val, p, out);
    const item = shape.lists?.[k];
    if (item && Array.isArray(val)) val.forEach((el, i) => isObj(el) && walk(SHAPES[item]!, el, `${p}[${i}]`, out));
  }
}

/** Paths of the unknown fields in an object (or merge/strategic/apply patch) of a kind (or custom type: its schema's). */
export function unknownFields(kind: string | ResourceType, body: unknown): string[] {
  if (typeof kind !== "string") {
    const schema = kind.custom?.versions.find((v) => v.name === kind.version)?.schema;
    if (!kind.custom) return unknownFields(kind.kind, body);
    if (!schema || !isObj(body)) return [];
    const unknown = prune(schema, structuredClone(body));
    // metadata is ObjectMeta: checked as for every kind.
    if (isObj(body.metadata)) walk(SHAPES.ObjectMeta!, body.metadata, "metadata", unknown);
    return unknown;
  }
  const shape = KINDS[kind];
  if (!shape || !isObj(body)) return [];
  const out: string[] = [];
  walk(shape, body, "", out);
  return out;
}

export const FieldValidation = { Strict: "Strict", Warn: "Warn", Ignore: "Ignore" } as const;
export type FieldValidation = (typeof FieldValidation)[keyof typeof FieldValidation];

/**
 * Applies the requested directive: throws BadRequest under Strict, returns warnings under Warn
 * (the default, as in Kubernetes), nothing under Ignore.
 */
export function checkFields(kind: string | ResourceType, body: unknown, directive: string | null): string[] {
  const mode = directive ?? FieldValidation.Warn;
  if (mode !== FieldValidation.Strict && mode !== FieldValidation.Warn && mode !== FieldValidation.Ignore) {
    throw new FlotillaError(ErrorCode.BadRequest, `fieldValidation: Unsupported value: "${mode}": supported values: "Ignore", "Strict", "Warn"`);
  }
  if (mode === FieldValidation.Ignore) return [];
  const unknown = unknownFields(kind, body).map((p) => `unknown field "${p}"`);
  if (unknown.length && mode === FieldValidation.Strict) {
    throw new FlotillaError(ErrorCode.BadRequest, `strict decoding error: ${unknown.join(", ")}`);
  }
  return unknown;
}

/** `Warning` header values for the Warn directive. */
export function warningHeaders(warnings: string[]): string[] {
  return warnings.map((w) => `299 - ${JSON.stringify(w)}`);
}
