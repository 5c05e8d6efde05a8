/**
 * Objects for the fuzzer: a valid one per kind, mutations that break them in every way a hostile
 * or careless client would (wrong types, missing fields, prototype keys), and `tame`, which keeps
 * a generated workload from asking the cluster for millions of pods.
 */
import fc from "fast-check";
import type { ResourceType } from "../../bus/kinds.ts";
import { RESOURCE_TYPES, apiVersionOf } from "../../bus/kinds.ts";

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

export const FUZZ_NS = "fuzz";
/** Names the fuzzer creates and targets, so gets, updates and deletes often meet an existing object. */
export const NAMES = ["fz-a", "fz-b", "fz-c", "fz.d", "web"];
export const NAMESPACES = [FUZZ_NS, "default", "fuzz-2"];

const template = (labels: Obj) => ({ metadata: { labels }, spec: { containers: [{ name: "c", image: "busybox" }] } });

/** A valid body of the resource's kind (name and namespace filled by the caller). */
export function validObject(rt: ResourceType, name: string, namespace?: string): Obj {
  const metadata: Obj = { name, labels: { app: "fz" } };
  if (rt.namespaced && namespace) metadata.namespace = namespace;
  const base: Obj = { apiVersion: apiVersionOf(rt), kind: rt.kind, metadata };
  const body: Record<string, Obj> = {
    Namespace: {},
    Node: { spec: {} },
    Pod: { spec: { containers: [{ name: "c", image: "busybox", command: ["sleep", "60"] }] } },
    Service: { spec: { selector: { app: "fz" }, ports: [{ port: 80, targetPort: 8080 }] } },
    Endpoints: { subsets: [] },
    ConfigMap: { data: { key: "value" } },
    Secret: { stringData: { password: "p" } },
    ReplicationController: { spec: { replicas: 1, selector: { app: "fz" }, template: template({ app: "fz" }) } },
    Event: { involvedObject: { kind: "Pod", name: "x", namespace: namespace ?? "default" }, reason: "Fuzzed", message: "m", type: "Normal" },
    Deployment: { spec: { replicas: 1, selector: { matchLabels: { app: "fz" } }, template: template({ app: "fz" }) } },
    ReplicaSet: { spec: { replicas: 1, selector: { matchLabels: { app: "fz" } }, template: template({ app: "fz" }) } },
    Lease: { spec: { holderIdentity: "fz", leaseDurationSeconds: 10 } },
    Role: { rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }] },
    ClusterRole: { rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }] },
    RoleBinding: { roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" }, subjects: [{ kind: "User", name: "fz" }] },
    ClusterRoleBinding: { roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" }, subjects: [{ kind: "User", name: "fz" }] },
  };
  return { ...base, ...(body[rt.kind] ?? {}) };
}

const KEYS = ["metadata", "spec", "status", "name", "namespace", "labels", "annotations", "containers", "0", "1", "ports", "port", "replicas", "selector", "template", "data", "kind", "apiVersion", "uid", "resourceVersion", "finalizers", "nodeName", "image", "__proto__", "constructor", "prototype", "toString"];

export interface Mutation {
  path: string[];
  /** undefined removes the field. */
  value: Json | undefined;
}

const leaf: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(null, true, false, 0, -1, 1e308, 2 ** 53 + 1, "", "x", "Pod", "v1", "-", "..", "a".repeat(300), { polluted: "yes" }, [], {}),
  fc.integer().map((n): Json => n),
  fc.string({ maxLength: 12 }).map((s): Json => s),
  fc.jsonValue({ maxDepth: 2 }).map((v) => v as Json),
);

export const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  path: fc.array(fc.oneof({ arbitrary: fc.constantFrom(...KEYS), weight: 4 }, { arbitrary: fc.string({ maxLength: 6 }), weight: 1 }), { minLength: 1, maxLength: 4 }),
  value: fc.option(leaf, { nil: undefined, freq: 5 }),
});

/** Applies mutations to a copy; `__proto__` becomes an own key, as JSON.parse would make it. */
export function mutate(o: Obj, ms: Mutation[]): Json {
  const out = structuredClone(o) as Obj;
  for (const m of ms) {
    let cur: Json = out;
    for (let i = 0; i < m.path.length - 1; i++) {
      const k = m.path[i]!;
      if (typeof cur !== "object" || cur === null) break;
      const c = cur as Obj;
      const next: Json | undefined = Object.hasOwn(c, k) ? c[k] : undefined;
      if (typeof next !== "object" || next === null) define(c, k, {});
      cur = c[k]!;
    }
    if (typeof cur !== "object" || cur === null) continue;
    const last = m.path[m.path.length - 1]!;
    if (m.value === undefined) delete (cur as Obj)[last];
    else define(cur as Obj, last, m.value);
  }
  return out;
}

function define(o: Obj, k: string, v: Json): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** Caps `replicas` anywhere in a value, so no generated workload floods the cluster with pods. */
export function tame<T>(v: T): T {
  const stack: unknown[] = [v];
  while (stack.length) {
    const x = stack.pop();
    if (typeof x !== "object" || x === null) continue;
    for (const [k, val] of Object.entries(x)) {
      if (k === "replicas" && typeof val === "number" && val > 2) (x as Record<string, unknown>)[k] = 2;
      else stack.push(val);
    }
  }
  return v;
}

/** Deeply nested JSON text (arrays or objects), for depth limits. */
export function nested(depth: number, kind: "array" | "object"): string {
  return kind === "array" ? "[".repeat(depth) + "1" + "]".repeat(depth) : '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
}

export const resourceArb: fc.Arbitrary<ResourceType> = fc.constantFrom(...RESOURCE_TYPES);
export const nameArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...NAMES), weight: 6 },
  { arbitrary: fc.constantFrom("UPPER", "a_b", "a b", "*", ">", "..", ".", "-x", "x-", "a".repeat(254), "ü", "%", "%zz", "%2F", "a/b", "kube-system", "default"), weight: 2 },
  { arbitrary: fc.string({ minLength: 1, maxLength: 10 }), weight: 1 },
);
export const namespaceArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...NAMESPACES), weight: 8 },
  { arbitrary: fc.constantFrom("kube-system", "missing", "Bad_NS", "*", ""), weight: 1 },
  { arbitrary: fc.string({ maxLength: 8 }), weight: 1 },
);
