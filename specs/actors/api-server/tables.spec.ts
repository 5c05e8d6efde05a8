import { expect } from "chai";
import type { KubeObject } from "../../../bus/resources.ts";
import { humanDuration, toTable } from "../../../actors/api-server/tables.ts";

const now = new Date("2026-03-01T12:00:00Z");
/** An RFC 3339 timestamp `ms` before `now`. */
const ago = (ms: number) => new Date(now.getTime() - ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

// Fixtures are built loosely and typed at the call.
function obj(kind: string, name: string, rest: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: "v1", kind, metadata: { name, namespace: "default", uid: `uid-${name}`, resourceVersion: "5", creationTimestamp: ago(3 * S), ...meta }, ...rest } as KubeObject;
}
const cellsOf = (resource: string, o: KubeObject) => toTable(resource, [o], { now }).rows[0]!.cells;
const columnsOf = (resource: string) => toTable(resource, [], { now }).columnDefinitions.map((c) => (c.priority ? `${c.name}(w)` : c.name));

describe("humanDuration", () => {
  const cases: [number, string][] = [
    [-3 * S, "<invalid>"],
    [-1 * S, "0s"],
    [0, "0s"],
    [119 * S, "119s"],
    [2 * M, "2m"],
    [2 * M + 5 * S, "2m5s"],
    [10 * M + 30 * S, "10m"],
    [179 * M, "179m"],
    [3 * H, "3h"],
    [7 * H + 59 * M, "7h59m"],
    [8 * H + 30 * M, "8h"],
    [47 * H, "47h"],
    [2 * D, "2d"],
    [7 * D + 23 * H, "7d23h"],
    [8 * D + 5 * H, "8d"],
    [729 * D, "729d"],
    [730 * D, "2y"],
    [3 * 365 * D + 10 * D, "3y10d"],
    [9 * 365 * D + 100 * D, "9y"],
  ];
  for (const [ms, text] of cases) {
    it(`shows ${ms} ms as "${text}"`, () => expect(humanDuration(ms)).to.equal(text));
  }
});

describe("toTable", () => {
  describe("the Table envelope", () => {
    const pod = obj("Pod", "web-1", { spec: { containers: [{ name: "c" }] }, status: { phase: "Running" } }, { labels: { app: "web" } });

    it("returns a meta.k8s.io/v1 Table with the resourceVersion and PartialObjectMetadata rows", () => {
      const t = toTable("pods", [pod], { now, resourceVersion: "1007" });
      expect(t.kind).to.equal("Table");
      expect(t.apiVersion).to.equal("meta.k8s.io/v1");
      expect(t.metadata).to.deep.equal({ resourceVersion: "1007" });
      expect(t.rows[0]!.object).to.deep.equal({ kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: pod.metadata });
    });

    it("carries the whole object with includeObject=Object and none with None", () => {
      expect(toTable("pods", [pod], { now, includeObject: "Object" }).rows[0]!.object).to.deep.equal(pod);
      expect(toTable("pods", [pod], { now, includeObject: "None" }).rows[0]).to.not.have.property("object");
    });

    it("sends wide columns with priority 1 and leaves out column definitions with noHeaders", () => {
      const t = toTable("pods", [pod], { now });
      expect(t.columnDefinitions.find((c) => c.name === "IP")).to.include({ priority: 1, type: "string" });
      expect(t.columnDefinitions[0]).to.include({ name: "Name", format: "name", priority: 0 });
      expect(t.rows[0]!.cells).to.have.length(t.columnDefinitions.length);
      expect(toTable("pods", [pod], { now, noHeaders: true }).columnDefinitions).to.deep.equal([]);
    });

    it("falls back to Name and Created At for a resource without a printer", () => {
      const t = toTable("widgets", [obj("Widget", "w")], { now });
      expect(t.columnDefinitions.map((c) => c.name)).to.deep.equal(["Name", "Created At"]);
      expect(t.rows[0]!.cells).to.deep.equal(["w", ago(3 * S)]);
    });
  });

  describe("pods", () => {
    const running = { name: "c", ready: true, restartCount: 0, image: "i", imageID: "", state: { running: { startedAt: ago(M) } } };
    const pod = (status: Record<string, unknown>, spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) =>
      obj("Pod", "web-1", { spec: { containers: [{ name: "c" }], ...spec }, status }, meta);

    it("has kubectl's columns", () => {
      expect(columnsOf("pods")).to.deep.equal(["Name", "Ready", "Status", "Restarts", "Age", "IP(w)", "Node(w)", "Nominated Node(w)", "Readiness Gates(w)"]);
    });

    it("shows a running pod with its IP and node", () => {
      const p = pod({ phase: "Running", podIPs: [{ ip: "10.0.0.4" }], containerStatuses: [running] }, { nodeName: "node1" });
      expect(cellsOf("pods", p)).to.deep.equal(["web-1", "1/1", "Running", "0", "3s", "10.0.0.4", "node1", "<none>", "<none>"]);
    });

    it("shows a waiting container's reason such as CrashLoopBackOff and the restarts with the last restart's age", () => {
      const c = {
        ...running,
        ready: false,
        restartCount: 2,
        state: { waiting: { reason: "CrashLoopBackOff" } },
        lastState: { terminated: { exitCode: 1, finishedAt: ago(5 * M) } },
      };
      const cells = cellsOf("pods", pod({ phase: "Running", containerStatuses: [c] }));
      expect(cells.slice(1, 4)).to.deep.equal(["0/1", "CrashLoopBackOff", "2 (5m ago)"]);
    });

    it("shows Completed, ExitCode:N and Signal:N for terminated containers", () => {
      const term = (t: Record<string, unknown>) => cellsOf("pods", pod({ phase: "Succeeded", containerStatuses: [{ ...running, ready: false, state: { terminated: t } }] }))[2];
      expect(term({ exitCode: 0, reason: "Completed" })).to.equal("Completed");
      expect(term({ exitCode: 3 })).to.equal("ExitCode:3");
      expect(term({ exitCode: 137, signal: 9 })).to.equal("Signal:9");
    });

    it("prefers status.reason over the phase and marks a succeeded pod's row Completed", () => {
      expect(cellsOf("pods", pod({ phase: "Failed", reason: "Evicted" }))[2]).to.equal("Evicted");
      expect(toTable("pods", [pod({ phase: "Succeeded" })], { now }).rows[0]!.conditions).to.deep.equal([
        { type: "Completed", status: "True", reason: "Succeeded", message: "The pod has completed successfully." },
      ]);
      expect(toTable("pods", [pod({ phase: "Running" })], { now }).rows[0]).to.not.have.property("conditions");
    });

    it("shows Init:x/y while init containers run and Init:<reason> when one fails", () => {
      const spec = { initContainers: [{ name: "i1" }, { name: "i2" }] };
      const done = { name: "i1", ready: false, restartCount: 0, image: "", imageID: "", state: { terminated: { exitCode: 0, reason: "Completed" } } };
      const runningInit = { name: "i2", ready: false, restartCount: 0, image: "", imageID: "", state: { running: {} } };
      expect(cellsOf("pods", pod({ phase: "Pending", initContainerStatuses: [done, runningInit], containerStatuses: [] }, spec))[2]).to.equal("Init:1/2");
      const failed = { ...runningInit, state: { terminated: { exitCode: 1, reason: "Error" } } };
      expect(cellsOf("pods", pod({ phase: "Pending", initContainerStatuses: [done, failed] }, spec))[2]).to.equal("Init:Error");
      const pulling = { ...runningInit, state: { waiting: { reason: "ErrImagePull" } } };
      expect(cellsOf("pods", pod({ phase: "Pending", initContainerStatuses: [done, pulling] }, spec))[2]).to.equal("Init:ErrImagePull");
    });

    it("shows ErrImagePull from a waiting app container", () => {
      const c = { ...running, ready: false, state: { waiting: { reason: "ErrImagePull" } } };
      expect(cellsOf("pods", pod({ phase: "Pending", containerStatuses: [c] }))[2]).to.equal("ErrImagePull");
    });

    it("shows Terminating for a running pod with a deletionTimestamp, but not for a finished one", () => {
      const meta = { deletionTimestamp: ago(S) };
      expect(cellsOf("pods", pod({ phase: "Running", containerStatuses: [running] }, {}, meta))[2]).to.equal("Terminating");
      expect(cellsOf("pods", pod({ phase: "Succeeded" }, {}, meta))[2]).to.equal("Succeeded");
    });

    it("counts only ready and running containers as ready", () => {
      const notReady = { ...running, name: "d", ready: false };
      const p = pod({ phase: "Running", containerStatuses: [running, notReady] }, { containers: [{ name: "c" }, { name: "d" }] });
      expect(cellsOf("pods", p)[1]).to.equal("1/2");
    });
  });

  describe("nodes", () => {
    const node = (conditions: unknown[], spec: Record<string, unknown> = {}, labels: Record<string, string> = {}) =>
      obj(
        "Node",
        "n1",
        {
          spec,
          status: {
            conditions,
            addresses: [{ type: "InternalIP", address: "10.0.0.1" }, { type: "Hostname", address: "n1" }],
            nodeInfo: { kubeletVersion: "v1.32.0-flotilla", osImage: "Debian GNU/Linux 12", kernelVersion: "6.1.0", containerRuntimeVersion: "docker://20.10" },
          },
        },
        { namespace: undefined, labels, creationTimestamp: ago(2 * D + 5 * H) },
      );

    it("has kubectl's columns", () => {
      expect(columnsOf("nodes")).to.deep.equal(["Name", "Status", "Roles", "Age", "Version", "Internal-IP(w)", "External-IP(w)", "OS-Image(w)", "Kernel-Version(w)", "Container-Runtime(w)"]);
    });

    it("shows a ready node with its roles, version and addresses", () => {
      const n = node([{ type: "Ready", status: "True" }], {}, { "node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/worker": "" });
      expect(cellsOf("nodes", n)).to.deep.equal(["n1", "Ready", "control-plane,worker", "2d5h", "v1.32.0-flotilla", "10.0.0.1", "<none>", "Debian GNU/Linux 12", "6.1.0", "docker://20.10"]);
    });

    it("shows NotReady, Unknown and SchedulingDisabled", () => {
      expect(cellsOf("nodes", node([{ type: "Ready", status: "False" }]))[1]).to.equal("NotReady");
      expect(cellsOf("nodes", node([{ type: "Ready", status: "Unknown" }]))[1]).to.equal("NotReady");
      expect(cellsOf("nodes", node([]))[1]).to.equal("Unknown");
      expect(cellsOf("nodes", node([{ type: "Ready", status: "True" }], { unschedulable: true }))[1]).to.equal("Ready,SchedulingDisabled");
      expect(cellsOf("nodes", node([]))[2]).to.equal("<none>");
    });
  });

  describe("services and endpoints", () => {
    it("has kubectl's service columns", () => {
      expect(columnsOf("services")).to.deep.equal(["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector(w)"]);
    });

    it("shows a NodePort service's ports as port:nodePort/protocol", () => {
      const s = obj("Service", "web", {
        spec: { type: "NodePort", clusterIPs: ["127.96.0.10"], ports: [{ port: 80, nodePort: 30080, protocol: "TCP" }, { port: 53, protocol: "UDP" }], selector: { tier: "fe", app: "web" } },
      });
      expect(cellsOf("services", s)).to.deep.equal(["web", "NodePort", "127.96.0.10", "<none>", "80:30080/TCP,53/UDP", "3s", "app=web,tier=fe"]);
    });

    it("shows <pending> for a LoadBalancer without ingress and the external name for ExternalName", () => {
      expect(cellsOf("services", obj("Service", "lb", { spec: { type: "LoadBalancer", ports: [] } })).slice(2, 5)).to.deep.equal(["<none>", "<pending>", "<none>"]);
      expect(cellsOf("services", obj("Service", "x", { spec: { type: "ExternalName", externalName: "example.test" } }))[3]).to.equal("example.test");
    });

    it("lists the first three endpoints then how many more", () => {
      const addresses = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"].map((ip) => ({ ip }));
      const e = obj("Endpoints", "web", { subsets: [{ addresses, ports: [{ port: 8080 }] }] });
      expect(columnsOf("endpoints")).to.deep.equal(["Name", "Endpoints", "Age"]);
      expect(cellsOf("endpoints", e)).to.deep.equal(["web", "10.0.0.1:8080,10.0.0.2:8080,10.0.0.3:8080 + 2 more...", "3s"]);
      const two = obj("Endpoints", "web", { subsets: [{ addresses: addresses.slice(0, 2), ports: [{ port: 80 }] }] });
      expect(cellsOf("endpoints", two)[1]).to.equal("10.0.0.1:80,10.0.0.2:80");
      expect(cellsOf("endpoints", obj("Endpoints", "none"))[1]).to.equal("<none>");
    });
  });

  describe("workloads", () => {
    const template = { spec: { containers: [{ name: "web", image: "nginx:1.27" }, { name: "side", image: "busybox" }] } };

    it("shows a deployment's Ready, Up-to-date and Available with wide containers, images and selector", () => {
      expect(columnsOf("deployments")).to.deep.equal(["Name", "Ready", "Up-to-date", "Available", "Age", "Containers(w)", "Images(w)", "Selector(w)"]);
      const d = obj("Deployment", "web", {
        spec: { replicas: 3, selector: { matchLabels: { app: "web" } }, template },
        status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
      });
      expect(cellsOf("deployments", d)).to.deep.equal(["web", "2/3", 3, 2, "3s", "web,side", "nginx:1.27,busybox", "app=web"]);
    });

    it("shows replica sets and replication controllers as Desired, Current, Ready", () => {
      expect(columnsOf("replicasets")).to.deep.equal(["Name", "Desired", "Current", "Ready", "Age", "Containers(w)", "Images(w)", "Selector(w)"]);
      const rs = obj("ReplicaSet", "web-abc", { spec: { replicas: 3, selector: { matchLabels: { app: "web", "pod-template-hash": "abc" } }, template }, status: { replicas: 3, readyReplicas: 1 } });
      expect(cellsOf("replicasets", rs)).to.deep.equal(["web-abc", 3, 3, 1, "3s", "web,side", "nginx:1.27,busybox", "app=web,pod-template-hash=abc"]);
      const rc = obj("ReplicationController", "rc", { spec: { replicas: 2, selector: { app: "rc" }, template }, status: { replicas: 0 } });
      expect(cellsOf("replicationcontrollers", rc)).to.deep.equal(["rc", 2, 0, 0, "3s", "web,side", "nginx:1.27,busybox", "app=rc"]);
    });
  });

  describe("namespaces, configmaps, secrets and leases", () => {
    it("shows a namespace's phase", () => {
      expect(columnsOf("namespaces")).to.deep.equal(["Name", "Status", "Age"]);
      expect(cellsOf("namespaces", obj("Namespace", "prod", { status: { phase: "Terminating" } }, { namespace: undefined }))).to.deep.equal(["prod", "Terminating", "3s"]);
    });

    it("counts a configmap's data and binaryData entries", () => {
      expect(columnsOf("configmaps")).to.deep.equal(["Name", "Data", "Age"]);
      expect(cellsOf("configmaps", obj("ConfigMap", "c", { data: { a: "1", b: "2" }, binaryData: { c: "AA==" } }))).to.deep.equal(["c", 3, "3s"]);
      expect(cellsOf("configmaps", obj("ConfigMap", "empty"))[1]).to.equal(0);
    });

    it("shows a secret's type and data count", () => {
      expect(columnsOf("secrets")).to.deep.equal(["Name", "Type", "Data", "Age"]);
      expect(cellsOf("secrets", obj("Secret", "s", { type: "Opaque", data: { p: "cA==" } }))).to.deep.equal(["s", "Opaque", 1, "3s"]);
    });

    it("shows a lease's holder", () => {
      expect(columnsOf("leases")).to.deep.equal(["Name", "Holder", "Age"]);
      expect(cellsOf("leases", obj("Lease", "scheduler", { spec: { holderIdentity: "host-a_1" } }))).to.deep.equal(["scheduler", "host-a_1", "3s"]);
    });
  });

  describe("events", () => {
    it("has kubectl's event columns", () => {
      expect(columnsOf("events")).to.deep.equal(["Last Seen", "Type", "Reason", "Object", "Subobject(w)", "Source(w)", "Message", "First Seen(w)", "Count(w)", "Name(w)"]);
    });

    it("shows last and first seen, the lower-case object, source and count", () => {
      const e = obj("Event", "web-1.abc", {
        involvedObject: { kind: "Pod", name: "web-1", namespace: "default", fieldPath: "spec.containers{web}" },
        reason: "Pulled",
        message: "  Container image already present \n",
        source: { component: "kubelet", host: "node1" },
        firstTimestamp: ago(10 * M),
        lastTimestamp: ago(30 * S),
        count: 4,
        type: "Normal",
      });
      expect(cellsOf("events", e)).to.deep.equal(["30s", "Normal", "Pulled", "pod/web-1", "spec.containers{web}", "kubelet, node1", "Container image already present", "10m", 4, "web-1.abc"]);
    });

    it("uses the first time as the last, eventTime when unset, and a count of 1", () => {
      const e = obj("Event", "n.1", { involvedObject: { kind: "Node" }, reportingComponent: "node-controller", eventTime: ago(2 * M + 5 * S), type: "Warning", reason: "NodeNotReady" });
      const cells = cellsOf("events", e);
      expect(cells[0]).to.equal("2m5s");
      expect(cells[3]).to.equal("node");
      expect(cells[5]).to.equal("node-controller");
      expect(cells[8]).to.equal(1);
    });
  });
});
