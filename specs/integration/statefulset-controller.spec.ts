import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import type { Lease, Node, Pod, StatefulSet } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import type { Host } from "../../runtime/host.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { Informer } from "../../runtime/informer.ts";
import { scheduler } from "../../actors/scheduler/index.ts";
import { kubelet } from "../../actors/kubelet/index.ts";
import { nodeController } from "../../actors/node-controller/index.ts";
import { statefulSetController } from "../../actors/statefulset-controller/index.ts";
import { isPodReady } from "../../actors/replication-controller/pods.ts";
import { killProcessContainers, pidAlive } from "../actors/kubelet/behaviours.ts";

const NS = "default";
const LEASE_SECONDS = 2;
const FENCE_MARGIN_MS = 2000;

function statefulSet(name: string, replicas: number, spec: Partial<StatefulSet["spec"]> = {}): StatefulSet {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "db", image: "db:1", command: ["sleep", "3600"] }], terminationGracePeriodSeconds: 1 },
      },
      ...spec,
    },
  };
}

/** What the watch stream showed about one StatefulSet's pods, in order. */
class Journal {
  readonly events: string[] = [];
  readonly readyAt = new Map<string, number>();
  readonly createdAt = new Map<string, number>();
  constructor(readonly app: string) {}
  note(kind: "add" | "update" | "delete", p: Pod): void {
    if (p.metadata.labels?.app !== this.app) return;
    const name = p.metadata.name!;
    const key = `${name}@${p.metadata.uid}`;
    if (kind === "add") {
      this.events.push(`created ${name}`);
      this.createdAt.set(key, Date.now());
    } else if (kind === "delete") this.events.push(`deleted ${name}`);
    else if (p.metadata.deletionTimestamp && !this.events.includes(`deleting ${key}`)) this.events.push(`deleting ${key}`);
    if (isPodReady(p) && !this.readyAt.has(key)) {
      this.readyAt.set(key, Date.now());
      this.events.push(`ready ${name}`);
    }
  }
}

for (const engine of ["simulated", "process"] as const) {
  describe(`StatefulSet controller with ${engine} kubelets (integration)`, function () {
    this.timeout(90_000);
    let c: TestCluster;
    let nodes: Host;
    let watch: Informer<Pod>;
    const journals: Journal[] = [];
    const dataDir = mkdtempSync(join(tmpdir(), "flotilla-sts-"));
    const pods = async (app: string) => (await c.store.list<Pod>("pods", NS, { labelSelector: `app=${app}` })).items;
    const image = (p: Pod) => p.spec.containers[0]!.image;

    before(async () => {
      c = await startTestCluster({
        actors: [{ def: scheduler }, { def: statefulSetController, opts: { fenceMarginMs: FENCE_MARGIN_MS } }, { def: nodeController, opts: { gracePeriodSeconds: LEASE_SECONDS } }],
      });
      await c.store.create("namespaces", undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }).catch(() => undefined);
      nodes = await c.startActors(
        ["a", "b"].map((n) => ({ def: kubelet, opts: { nodeName: `${engine}-${n}`, engine, dataDir, leaseDurationSeconds: LEASE_SECONDS, renewIntervalMs: 500 } })),
      );
      watch = new Informer<Pod>(c.nc, c.cluster, { resource: "pods", namespace: NS });
      watch.addHandlers({
        add: (p) => journals.forEach((j) => j.note("add", p)),
        update: (_o, p) => journals.forEach((j) => j.note("update", p)),
        delete: (p) => journals.forEach((j) => j.note("delete", p)),
      });
      await watch.start();
    });
    after(async () => {
      watch?.stop();
      await nodes?.stop().catch(() => undefined);
      await c?.stop();
      killProcessContainers(dataDir);
      rmSync(dataDir, { recursive: true, force: true });
    });

    it("brings 3 replicas up in order: db-1 only once db-0 is Ready, db-2 only once db-1 is", async () => {
      const j = new Journal("db");
      journals.push(j);
      await c.store.create("statefulsets", NS, statefulSet("db", 3));
      await waitFor(async () => (await c.store.get<StatefulSet>("statefulsets", NS, "db")).status?.readyReplicas === 3, { what: "3 ready replicas", timeoutMs: 30_000 });
      const order = j.events.filter((e) => e.startsWith("created") || e.startsWith("ready"));
      expect(order).to.deep.equal(["created db-0", "ready db-0", "created db-1", "ready db-1", "created db-2", "ready db-2"]);
      const p = (await pods("db")).find((x) => x.metadata.name === "db-1")!;
      expect(p.spec).to.deep.include({ hostname: "db-1", subdomain: "db" });
      expect(p.metadata.labels).to.deep.include({ "statefulset.kubernetes.io/pod-name": "db-1", "apps.kubernetes.io/pod-index": "1" });
    });

    it("scales down by removing db-2 first, then db-1", async () => {
      const j = journals[0]!;
      j.events.length = 0;
      const cur = await c.store.get<StatefulSet>("statefulsets", NS, "db");
      await c.store.update("statefulsets", { ...cur, spec: { ...cur.spec, replicas: 1 } });
      await waitFor(async () => (await pods("db")).map((p) => p.metadata.name).join() === "db-0", { what: "only db-0 left", timeoutMs: 30_000 });
      expect(j.events.filter((e) => e.startsWith("deleted"))).to.deep.equal(["deleted db-2", "deleted db-1"]);
    });

    it("holds back ordinals below the partition during a rolling update", async () => {
      const cur = await c.store.get<StatefulSet>("statefulsets", NS, "db");
      await c.store.update("statefulsets", { ...cur, spec: { ...cur.spec, replicas: 3 } });
      await waitFor(async () => (await c.store.get<StatefulSet>("statefulsets", NS, "db")).status?.readyReplicas === 3, { what: "3 ready again", timeoutMs: 30_000 });
      const again = await c.store.get<StatefulSet>("statefulsets", NS, "db");
      const template = structuredClone(again.spec.template);
      template.spec.containers[0]!.image = "db:2";
      await c.store.update("statefulsets", { ...again, spec: { ...again.spec, template, updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 2 } } } });
      await waitFor(
        async () => {
          const s = (await c.store.get<StatefulSet>("statefulsets", NS, "db")).status;
          return s?.updatedReplicas === 1 && s.readyReplicas === 3;
        },
        { what: "db-2 updated", timeoutMs: 30_000 },
      );
      const byName = Object.fromEntries((await pods("db")).map((p) => [p.metadata.name, image(p)]));
      expect(byName).to.deep.equal({ "db-0": "db:1", "db-1": "db:1", "db-2": "db:2" });
      const s = await c.store.get<StatefulSet>("statefulsets", NS, "db");
      expect(s.status!.currentRevision).to.not.equal(s.status!.updateRevision);
    });

    it("replaces the pod of a frozen node once the node's lease + fence margin have passed, never earlier", async () => {
      // The frozen node is a kubelet in its own process (its containers too, for the process engine): SIGSTOP freezes it whole.
      const frozen = `${engine}-frozen`;
      const child: ChildProcess = spawn(
        process.execPath,
        ["bin/flotilla.mjs", "actor", "kubelet", "--nats", c.url, "--cluster", c.cluster, "--opt", `nodeName=${frozen}`, "--opt", `engine=${engine}`,
          "--opt", `dataDir=${dataDir}`, "--opt", `leaseDurationSeconds=${LEASE_SECONDS}`, "--opt", "renewIntervalMs=500"],
        { stdio: "ignore", env: { ...process.env, FLOTILLA_LOG: "error" } },
      );
      const containerPids: number[] = [];
      try {
        // Only the frozen node takes the pod: the other nodes are cordoned while it is placed.
        const cordon = async (name: string, unschedulable: boolean) => {
          const n = await c.store.get<Node>("nodes", undefined, name);
          await c.store.update("nodes", { ...n, spec: { ...n.spec, unschedulable } });
        };
        await waitFor(() => c.store.get<Node>("nodes", undefined, frozen).then(() => true), { what: "the frozen node registered", timeoutMs: 20_000 });
        for (const n of ["a", "b"]) await cordon(`${engine}-${n}`, true);
        await c.store.create("statefulsets", NS, statefulSet("solo", 1));
        const first = await waitFor(async () => (await pods("solo")).find((p) => p.spec.nodeName === frozen && isPodReady(p)), { what: "solo-0 ready on the frozen node", timeoutMs: 30_000 });
        for (const n of ["a", "b"]) await cordon(`${engine}-${n}`, false);
        if (engine === "process") {
          const id = first.status!.containerStatuses![0]!.containerID!.replace("process://", "");
          containerPids.push((JSON.parse(readFileSync(join(dataDir, "kubelet", c.cluster, frozen, "containers", id, "meta.json"), "utf8")) as { pid: number }).pid);
        }

        process.kill(child.pid!, "SIGSTOP");
        for (const pid of containerPids) process.kill(-pid, "SIGSTOP");
        const lastRenewal = Date.parse((await c.store.get<Lease>("leases", "kube-node-lease", frozen)).spec.renewTime!);

        const replacement = await waitFor(async () => (await pods("solo")).find((p) => p.metadata.uid !== first.metadata.uid && p.spec.nodeName && p.spec.nodeName !== frozen && isPodReady(p)), {
          what: "solo-0 running on another node",
          timeoutMs: 40_000,
        });
        const created = Date.parse(replacement.metadata.creationTimestamp!);
        // Second-precision timestamps: the replacement exists no earlier than lease + margin after the last renewal was sent.
        expect(created + 1000).to.be.at.least(lastRenewal + LEASE_SECONDS * 1000 + FENCE_MARGIN_MS);
        expect(replacement.metadata.name).to.equal("solo-0");
        const events = (await c.store.list("events", NS)).items as { reason?: string; message?: string }[];
        expect(events.some((e) => e.reason === "ReplacingFencedPod" && e.message?.includes(`node ${frozen} has not renewed its lease`))).to.equal(true);

        // The node wakes up: it finds its lease long expired, stops the old container at once, and never runs solo-0 again.
        for (const pid of containerPids) process.kill(-pid, "SIGCONT");
        process.kill(child.pid!, "SIGCONT");
        for (const pid of containerPids) await waitFor(() => !pidAlive(pid), { what: "the woken node's old container stopped", timeoutMs: 15_000 });
        const after = await pods("solo");
        expect(after.map((p) => `${p.metadata.name}@${p.spec.nodeName}`)).to.deep.equal([`solo-0@${replacement.spec.nodeName}`]);
      } finally {
        for (const pid of containerPids) {
          try {
            process.kill(-pid, "SIGCONT");
          } catch {
            /* gone */
          }
        }
        if (child.exitCode === null) {
          child.kill("SIGCONT");
          child.kill("SIGTERM");
          await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once("exit", r)));
        }
      }
    });
  });
}
