import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import type { ControllerRevision, DaemonSet, Node, Pod } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import type { Host } from "../../runtime/host.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { Informer } from "../../runtime/informer.ts";
import { scheduler } from "../../actors/scheduler/index.ts";
import { kubelet } from "../../actors/kubelet/index.ts";
import { daemonSetController } from "../../actors/daemonset-controller/index.ts";
import { isPodAvailable } from "../../actors/replication-controller/pods.ts";
import { killProcessContainers } from "../actors/kubelet/behaviours.ts";

const NS = "default";

for (const engine of ["simulated", "process"] as const) {
  describe(`DaemonSet controller with the scheduler and ${engine} kubelets (integration)`, function () {
    this.timeout(90_000);
    let c: TestCluster;
    const nodes = new Map<string, Host>();
    const dataDir = mkdtempSync(join(tmpdir(), "flotilla-ds-"));
    let watch: Informer<Pod>;
    /** After every pod event of the watch stream: how many of `judged` nodes had no available pod. */
    const unavailableSeen: number[] = [];
    let judged: string[] = [];
    let judging = false;

    const addNode = async (name: string) => {
      nodes.set(name, await c.startActors([{ def: kubelet, opts: { nodeName: name, engine, dataDir, leaseDurationSeconds: 10 } }]));
    };
    const daemonPods = (all: readonly Pod[]) => all.filter((p) => p.metadata.labels?.app === "agent");
    const podsByNode = async () => {
      const pods = daemonPods((await c.store.list<Pod>("pods", NS)).items).filter((p) => !p.metadata.deletionTimestamp);
      return Object.fromEntries([...new Set(pods.map((p) => p.spec.nodeName ?? "?"))].sort().map((n) => [n, pods.filter((p) => p.spec.nodeName === n).length]));
    };
    const ds = () => c.store.get<DaemonSet>("daemonsets", NS, "agent");

    before(async () => {
      c = await startTestCluster({ actors: [{ def: scheduler }, { def: daemonSetController }] });
      await c.store.create("namespaces", undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }).catch(() => undefined);
      for (const n of ["n1", "n2", "n3"]) await addNode(`${engine}-${n}`);
      watch = new Informer<Pod>(c.nc, c.cluster, { resource: "pods", namespace: NS });
      const judge = () => {
        if (!judging) return;
        const now = Date.now();
        const pods = daemonPods(watch.list());
        unavailableSeen.push(judged.filter((n) => !pods.some((p) => p.spec.nodeName === n && isPodAvailable(p, 0, now) && !p.metadata.deletionTimestamp)).length);
      };
      watch.addHandlers({ add: judge, update: judge, delete: judge });
      await watch.start();
    });
    after(async () => {
      watch?.stop();
      for (const h of nodes.values()) await h.stop().catch(() => undefined);
      await c?.stop();
      killProcessContainers(dataDir);
      rmSync(dataDir, { recursive: true, force: true });
    });

    it("runs one pod on each of 3 nodes, then on a 4th that joins, and keeps it on a node tainted NoSchedule while no longer counting it", async () => {
      const manifest: DaemonSet = {
        apiVersion: "apps/v1",
        kind: "DaemonSet",
        metadata: { name: "agent", namespace: NS },
        spec: {
          selector: { matchLabels: { app: "agent" } },
          template: {
            metadata: { labels: { app: "agent" } },
            spec: { containers: [{ name: "agent", image: "busybox", command: ["sleep", "3600"] }], terminationGracePeriodSeconds: 1 },
          },
          updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
        },
      };
      await c.store.create("daemonsets", NS, manifest);
      const [a, b, d] = ["n1", "n2", "n3"].map((n) => `${engine}-${n}`);
      await waitFor(async () => JSON.stringify(await podsByNode()) === JSON.stringify({ [a!]: 1, [b!]: 1, [d!]: 1 }) && (await ds()).status?.numberAvailable === 3, {
        what: "a daemon pod on each of 3 nodes",
        timeoutMs: 30_000,
      });
      const pod = daemonPods((await c.store.list<Pod>("pods", NS)).items)[0]!;
      expect(pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms[0]?.matchFields?.[0]).to.deep.include({ key: "metadata.name", operator: "In" });

      const e = `${engine}-n4`;
      await addNode(e);
      await waitFor(async () => (await podsByNode())[e] === 1 && (await ds()).status?.desiredNumberScheduled === 4, { what: "the joining node's pod", timeoutMs: 30_000 });

      const node = await c.store.get<Node>("nodes", undefined, d!);
      await c.store.update("nodes", { ...node, spec: { ...node.spec, taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }] } });
      await waitFor(async () => (await ds()).status?.desiredNumberScheduled === 3, { what: "the tainted node no longer counted", timeoutMs: 15_000 });
      expect((await ds()).status).to.deep.include({ desiredNumberScheduled: 3, numberMisscheduled: 1 });
      expect((await podsByNode())[d!]).to.equal(1, "a NoSchedule taint does not evict the running daemon pod");
    });

    it("rolls a new image out without ever having more than maxUnavailable nodes without an available pod, judged from the watch stream", async () => {
      unavailableSeen.length = 0;
      // The nodes the DaemonSet should run on (the tainted one no longer is).
      judged = ["n1", "n2", "n4"].map((n) => `${engine}-${n}`);
      judging = true;
      // As `kubectl set image` does: a patch, so the controller's status writes are no conflict.
      await c.store.patch("daemonsets", NS, "agent", "strategic", { spec: { template: { spec: { containers: [{ name: "agent", image: "busybox:2" }] } } } });
      await waitFor(
        async () => {
          const pods = daemonPods((await c.store.list<Pod>("pods", NS)).items);
          const s = (await ds()).status;
          // The old pod on the tainted node is replaced by none: the DaemonSet no longer runs there.
          return pods.length === 3 && pods.every((p) => p.spec.containers[0]!.image === "busybox:2") && s?.updatedNumberScheduled === 3 && s.numberAvailable === 3;
        },
        { what: "every daemon pod at busybox:2", timeoutMs: 60_000 },
      );
      judging = false;
      expect(unavailableSeen.length).to.be.greaterThan(4);
      expect(Math.max(...unavailableSeen)).to.equal(1);
      const revisions = (await c.store.list<ControllerRevision>("controllerrevisions", NS)).items;
      expect(revisions.map((r) => r.revision).sort()).to.deep.equal([1, 2]);
    });

    it("takes the pod away from a node that leaves the cluster", async () => {
      const e = `${engine}-n4`;
      await nodes.get(e)!.stop();
      nodes.delete(e);
      await c.store.delete("nodes", undefined, e);
      await waitFor(async () => (await podsByNode())[e] === undefined, { what: "the departed node's pod removed", timeoutMs: 20_000 });
    });
  });
}
