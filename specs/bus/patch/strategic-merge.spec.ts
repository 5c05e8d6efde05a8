import { expect } from "chai";
import { ErrorCode, FlotillaError } from "../../../bus/errors.ts";
import { applyStrategicMergePatch } from "../../../bus/patch/strategic-merge.ts";

// Fixtures are read freely in assertions.
type Json = Record<string, any>;
const smp = (target: unknown, patch: unknown, kind: string) => applyStrategicMergePatch(target, patch, kind) as Json;

function deployment(podSpec: Json): Json {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default", annotations: { keep: "me" } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "web" } },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } },
      template: { metadata: { labels: { app: "web" } }, spec: podSpec },
    },
  };
}
const inTemplate = (podSpecPatch: Json) => ({ spec: { template: { spec: podSpecPatch } } });

describe("applyStrategicMergePatch", () => {
  describe("with kubectl apply's second-apply patches", () => {
    const live = deployment({
      containers: [
        { name: "web", image: "nginx:1.25", env: [{ name: "A", value: "1" }], ports: [{ containerPort: 80, protocol: "TCP" }] },
        { name: "side", image: "busybox", args: ["sleep", "3600"] },
      ],
    });

    it("changes an image and an env value by merge key, keeping the other container and the order", () => {
      const patch = JSON.parse(
        `{"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}\\n"}},"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"web"},{"name":"side"}],"containers":[{"$setElementOrder/env":[{"name":"A"}],"env":[{"name":"A","value":"2"}],"image":"nginx:1.26","name":"web"}]}}}}`,
      );
      const out = smp(live, patch, "Deployment");
      expect(out.metadata.annotations).to.deep.equal({ keep: "me", "kubectl.kubernetes.io/last-applied-configuration": "{}\n" });
      expect(out.spec.template.spec.containers).to.deep.equal([
        { name: "web", image: "nginx:1.26", env: [{ name: "A", value: "2" }], ports: [{ containerPort: 80, protocol: "TCP" }] },
        { name: "side", image: "busybox", args: ["sleep", "3600"] },
      ]);
      expect(out.spec.replicas).to.equal(2);
    });

    it("drops a container with $patch: delete, clears env and ports with null, and adds a mount and a volume", () => {
      const patch = inTemplate(
        JSON.parse(
          `{"containers":[{"env":null,"name":"web","ports":null,"volumeMounts":[{"mountPath":"/data","name":"data"}]},{"$patch":"delete","name":"side"}],"volumes":[{"emptyDir":{},"name":"data"}]}`,
        ),
      );
      const out = smp(live, patch, "Deployment");
      expect(out.spec.template.spec.containers).to.deep.equal([{ name: "web", image: "nginx:1.25", volumeMounts: [{ mountPath: "/data", name: "data" }] }]);
      expect(out.spec.template.spec.volumes).to.deep.equal([{ emptyDir: {}, name: "data" }]);
    });

    it("switches a volume source with $retainKeys", () => {
      const withVolume = deployment({ containers: [{ name: "web", image: "x" }], volumes: [{ name: "data", emptyDir: {} }, { name: "other", emptyDir: {} }] });
      const patch = inTemplate(
        JSON.parse(
          `{"$setElementOrder/volumes":[{"name":"data"},{"name":"other"}],"volumes":[{"$retainKeys":["hostPath","name"],"emptyDir":null,"hostPath":{"path":"/tmp"},"name":"data"}]}`,
        ),
      );
      const out = smp(withVolume, patch, "Deployment");
      expect(out.spec.template.spec.volumes).to.deep.equal([{ name: "data", hostPath: { path: "/tmp" } }, { name: "other", emptyDir: {} }]);
    });

    it("drops keys that $retainKeys does not list even when the patch does not null them", () => {
      const withVolume = deployment({ containers: [{ name: "web" }], volumes: [{ name: "data", emptyDir: {} }] });
      const out = smp(withVolume, inTemplate({ volumes: [{ $retainKeys: ["hostPath", "name"], hostPath: { path: "/tmp" }, name: "data" }] }), "Deployment");
      expect(out.spec.template.spec.volumes).to.deep.equal([{ name: "data", hostPath: { path: "/tmp" } }]);
    });

    it("replaces a RollingUpdate strategy by Recreate, dropping rollingUpdate", () => {
      const out = smp(live, { spec: { strategy: { $retainKeys: ["type"], type: "Recreate" } } }, "Deployment");
      expect(out.spec.strategy).to.deep.equal({ type: "Recreate" });
    });

    it("puts new containers where $setElementOrder says (kubectl set image)", () => {
      const patch = inTemplate({ "$setElementOrder/containers": [{ name: "side" }, { name: "new" }, { name: "web" }], containers: [{ name: "new", image: "n" }] });
      const out = smp(live, patch, "Deployment");
      expect(out.spec.template.spec.containers.map((c: Json) => c.name)).to.deep.equal(["side", "new", "web"]);
    });
  });

  describe("merge keys per type", () => {
    it("cordons and uncordons a node", () => {
      const node = { kind: "Node", metadata: { name: "n1" }, spec: { podCIDR: "10.0.0.0/24" } };
      const cordoned = smp(node, { spec: { unschedulable: true } }, "Node");
      expect(cordoned.spec).to.deep.equal({ podCIDR: "10.0.0.0/24", unschedulable: true });
      expect(smp(cordoned, { spec: { unschedulable: null } }, "Node").spec).to.deep.equal({ podCIDR: "10.0.0.0/24" });
    });

    it("merges Service ports by port", () => {
      const svc = {
        kind: "Service",
        metadata: { name: "s" },
        spec: { ports: [{ name: "http", port: 80, targetPort: 8080 }, { name: "https", port: 443, targetPort: 8443 }] },
      };
      const out = smp(svc, { spec: { ports: [{ port: 80, nodePort: 30080 }, { port: 9000, name: "metrics" }] } }, "Service");
      // Kubernetes' order: patch items in patch order, server-only items slotted in by live position.
      expect(out.spec.ports).to.deep.equal([
        { name: "http", port: 80, targetPort: 8080, nodePort: 30080 },
        { port: 9000, name: "metrics" },
        { name: "https", port: 443, targetPort: 8443 },
      ]);
    });

    it("merges container ports by containerPort", () => {
      const pod = { kind: "Pod", metadata: { name: "p" }, spec: { containers: [{ name: "web", ports: [{ containerPort: 80, name: "http" }] }] } };
      const out = smp(pod, { spec: { containers: [{ name: "web", ports: [{ containerPort: 80, protocol: "TCP" }, { containerPort: 9090 }] }] } }, "Pod");
      expect(out.spec.containers[0].ports).to.deep.equal([{ containerPort: 80, name: "http", protocol: "TCP" }, { containerPort: 9090 }]);
    });

    it("merges containers by name in a ReplicationController's and a ReplicaSet's pod template", () => {
      for (const kind of ["ReplicationController", "ReplicaSet"]) {
        const rc = { kind, metadata: { name: "r" }, spec: { template: { spec: { containers: [{ name: "a", image: "1" }, { name: "b", image: "1" }] } } } };
        const out = smp(rc, { spec: { template: { spec: { containers: [{ name: "b", image: "2" }] } } } }, kind);
        expect(out.spec.template.spec.containers, kind).to.deep.equal([{ name: "a", image: "1" }, { name: "b", image: "2" }]);
      }
    });

    it("merges node conditions and addresses by type but replaces taints wholesale", () => {
      const node = {
        kind: "Node",
        metadata: { name: "n1" },
        spec: { taints: [{ key: "a", effect: "NoSchedule" }, { key: "b", effect: "NoSchedule" }] },
        status: {
          conditions: [{ type: "MemoryPressure", status: "False" }, { type: "Ready", status: "True" }],
          addresses: [{ type: "InternalIP", address: "10.0.0.1" }, { type: "Hostname", address: "n1" }],
        },
      };
      const out = smp(
        node,
        {
          spec: { taints: [{ key: "c", effect: "NoExecute" }] },
          status: { conditions: [{ type: "Ready", status: "False", reason: "Down" }], addresses: [{ type: "InternalIP", address: "10.0.0.2" }] },
        },
        "Node",
      );
      expect(out.spec.taints).to.deep.equal([{ key: "c", effect: "NoExecute" }]);
      expect(out.status.conditions).to.deep.equal([{ type: "MemoryPressure", status: "False" }, { type: "Ready", status: "False", reason: "Down" }]);
      expect(out.status.addresses).to.deep.equal([{ type: "InternalIP", address: "10.0.0.2" }, { type: "Hostname", address: "n1" }]);
    });

    it("merges workload status conditions by type", () => {
      const d = deployment({ containers: [{ name: "w" }] });
      d.status = { conditions: [{ type: "Available", status: "True" }, { type: "Progressing", status: "True", reason: "A" }] };
      const out = smp(d, { status: { conditions: [{ type: "Progressing", reason: "NewReplicaSetAvailable" }] } }, "Deployment");
      expect(out.status.conditions).to.deep.equal([
        { type: "Available", status: "True" },
        { type: "Progressing", status: "True", reason: "NewReplicaSetAvailable" },
      ]);
    });

    it("replaces lists without a merge strategy (command, args, tolerations)", () => {
      const pod = { kind: "Pod", metadata: {}, spec: { containers: [{ name: "w", args: ["a", "b"] }], tolerations: [{ key: "x", operator: "Exists" }] } };
      const out = smp(pod, { spec: { containers: [{ name: "w", args: ["c"] }], tolerations: [{ key: "y", operator: "Exists" }] } }, "Pod");
      expect(out.spec.containers[0].args).to.deep.equal(["c"]);
      expect(out.spec.tolerations).to.deep.equal([{ key: "y", operator: "Exists" }]);
    });

    it("merges ownerReferences by uid", () => {
      const cm = { kind: "ConfigMap", metadata: { name: "c", ownerReferences: [{ uid: "1", kind: "A", name: "a" }] }, data: { k: "v" } };
      const out = smp(cm, { metadata: { ownerReferences: [{ uid: "2", kind: "B", name: "b" }] }, data: { k2: "v2" } }, "ConfigMap");
      expect(out.metadata.ownerReferences.map((o: Json) => o.uid)).to.have.members(["1", "2"]);
      expect(out.data).to.deep.equal({ k: "v", k2: "v2" });
    });
  });

  describe("finalizers", () => {
    const ns = { kind: "Namespace", metadata: { name: "n", finalizers: ["a", "b"] } };

    it("merges finalizers as a set", () => {
      expect(smp(ns, { metadata: { finalizers: ["b", "c"] } }, "Namespace").metadata.finalizers).to.have.ordered.members(["a", "b", "c"]);
    });

    it("removes finalizers listed in $deleteFromPrimitiveList", () => {
      expect(smp(ns, { metadata: { "$deleteFromPrimitiveList/finalizers": ["a"] } }, "Namespace").metadata.finalizers).to.deep.equal(["b"]);
      expect(smp(ns, { metadata: { "$deleteFromPrimitiveList/finalizers": ["a", "b"] } }, "Namespace").metadata).to.deep.equal({ name: "n" });
    });

    it("orders finalizers by $setElementOrder while deleting one", () => {
      const patch = { metadata: { "$setElementOrder/finalizers": ["c", "b"], "$deleteFromPrimitiveList/finalizers": ["a"], finalizers: ["c"] } };
      expect(smp(ns, patch, "Pod").metadata.finalizers).to.deep.equal(["c", "b"]);
    });
  });

  describe("$patch directives", () => {
    it("replaces a map with $patch: replace", () => {
      const svc = { kind: "Service", metadata: {}, spec: { selector: { app: "web", tier: "fe" } } };
      expect(smp(svc, { spec: { selector: { $patch: "replace", app: "api" } } }, "Service").spec.selector).to.deep.equal({ app: "api" });
    });

    it("replaces a merge-keyed list with a $patch: replace element", () => {
      const pod = { kind: "Pod", metadata: {}, spec: { containers: [{ name: "a", image: "1" }, { name: "b" }] } };
      const out = smp(pod, { spec: { containers: [{ $patch: "replace" }, { name: "c", image: "3" }] } }, "Pod");
      expect(out.spec.containers).to.deep.equal([{ name: "c", image: "3" }]);
    });

    it("empties a map with $patch: delete", () => {
      const out = smp(deployment({ containers: [] }), { spec: { strategy: { $patch: "delete" } } }, "Deployment");
      expect(out.spec.strategy).to.deep.equal({});
    });

    it("rejects unknown directives, missing merge keys and keys outside $retainKeys with BadRequest", () => {
      const pod = { kind: "Pod", metadata: {}, spec: { containers: [{ name: "a" }] } };
      const cases: [Json, Json, string][] = [
        [pod, { spec: { $patch: "explode" } }, "Pod"],
        [pod, { spec: { containers: [{ $patch: "delete" }] } }, "Pod"],
        [pod, { spec: { containers: [{ image: "no-name" }] } }, "Pod"],
        [deployment({ containers: [] }), { spec: { strategy: { $retainKeys: ["type"], rollingUpdate: {} } } }, "Deployment"],
      ];
      for (const [target, patch, kind] of cases) {
        let code: string | undefined;
        try {
          smp(target, patch, kind);
        } catch (e) {
          expect(e).to.be.instanceOf(FlotillaError);
          code = (e as FlotillaError).code;
        }
        expect(code, JSON.stringify(patch)).to.equal(ErrorCode.BadRequest);
      }
    });
  });

  it("treats an unknown kind as a JSON merge with lists replaced", () => {
    const widget = { kind: "Widget", metadata: { finalizers: ["a"] }, spec: { items: [{ name: "x", v: 1 }], conf: { a: 1, b: 2 } } };
    const out = smp(widget, { metadata: { finalizers: ["b"] }, spec: { items: [{ name: "x", v: 2 }], conf: { b: null, c: 3 } } }, "Widget");
    expect(out).to.deep.equal({ kind: "Widget", metadata: { finalizers: ["b"] }, spec: { items: [{ name: "x", v: 2 }], conf: { a: 1, c: 3 } } });
  });

  it("leaves its inputs untouched", () => {
    const live = deployment({ containers: [{ name: "web", image: "a", env: [{ name: "A", value: "1" }] }] });
    const before = JSON.stringify(live);
    const patch = inTemplate({ containers: [{ name: "web", env: [{ name: "A", value: "2" }] }] });
    const patchBefore = JSON.stringify(patch);
    const out = smp(live, patch, "Deployment");
    out.spec.template.spec.containers[0].image = "changed";
    expect(JSON.stringify(live)).to.equal(before);
    expect(JSON.stringify(patch)).to.equal(patchBefore);
  });
});
