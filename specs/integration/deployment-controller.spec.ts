import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import type { Deployment, Pod, ReplicaSet } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import type { FakeKubelet } from "../harness/fake-kubelet.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { startFakeKubelet, readyPods } from "../harness/fake-kubelet.ts";
import { Informer } from "../../runtime/informer.ts";
import { pingActors } from "../../runtime/host.ts";
import { replicationController } from "../../actors/replication-controller/index.ts";
import { deploymentController } from "../../actors/deployment-controller/index.ts";
import { garbageCollector } from "../../actors/garbage-collector/index.ts";

const NS = "default";
const REV = "deployment.kubernetes.io/revision";

function deployment(name: string, image: string, o: { replicas?: number; maxSurge?: number; maxUnavailable?: number } = {}): Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: NS },
    spec: {
      replicas: o.replicas ?? 4,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image }] } },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: o.maxSurge ?? 1, maxUnavailable: o.maxUnavailable ?? 1 } },
    },
  };
}

/**
 * Watches an app's pods and ReplicaSets and records the extremes over every event: ready and live
 * pods, the ReplicaSets' desired replicas in total, and per ReplicaSet the most pods it owned
 * against the most it was ever asked for.
 */
async function watchPods(c: TestCluster, app: string) {
  const inf = new Informer<Pod>(c.nc, c.cluster, { resource: "pods", namespace: NS, filter: (p) => p.metadata.labels?.app === app });
  const sets = new Informer<ReplicaSet>(c.nc, c.cluster, { resource: "replicasets", namespace: NS, filter: (r) => r.metadata.labels?.app === app });
  const rec = { minReady: Infinity, maxLive: 0, maxDesired: 0, events: 0, armed: false, asked: new Map<string, number>(), owned: new Map<string, number>() };
  const check = () => {
    if (!rec.armed) return;
    rec.events++;
    const pods = inf.list(NS);
    rec.minReady = Math.min(rec.minReady, readyPods(pods).length);
    const live = pods.filter((p) => !p.metadata.deletionTimestamp);
    rec.maxLive = Math.max(rec.maxLive, live.length);
    const rss = sets.list(NS);
    rec.maxDesired = Math.max(rec.maxDesired, rss.reduce((n, r) => n + (r.spec.replicas ?? 1), 0));
    for (const r of rss) rec.asked.set(r.metadata.uid!, Math.max(rec.asked.get(r.metadata.uid!) ?? 0, r.spec.replicas ?? 1));
    for (const r of rss) rec.owned.set(r.metadata.uid!, Math.max(rec.owned.get(r.metadata.uid!) ?? 0, live.filter((p) => p.metadata.ownerReferences?.some((o) => o.uid === r.metadata.uid)).length));
  };
  inf.addHandlers({ add: check, update: check, delete: check });
  sets.addHandlers({ add: check, update: check, delete: check });
  await Promise.all([inf.start(), sets.start()]);
  /** ReplicaSets that owned more live pods at once than they were ever asked for (a second controller's pods). */
  const overfilled = () => [...rec.owned].filter(([uid, n]) => n > (rec.asked.get(uid) ?? 0));
  return { rec, inf, overfilled, arm: () => ((rec.armed = true), check()), stop: () => (inf.stop(), sets.stop()) };
}

async function setImage(c: TestCluster, name: string, image: string) {
  await waitFor(async () => {
    const d = await c.store.get<Deployment>("deployments", NS, name);
    const t = structuredClone(d.spec.template);
    t.spec.containers[0]!.image = image;
    return c.store.update("deployments", { ...d, spec: { ...d.spec, template: t } }).then(() => true);
  }, { what: "template update" });
}

function rolledOut(c: TestCluster, name: string, image: string, timeoutMs = 15_000) {
  return waitFor(async () => {
    const d = await c.store.get<Deployment>("deployments", NS, name);
    const s = d.status;
    const r = d.spec.replicas ?? 1;
    const done = (d.metadata.generation ?? 0) <= (s?.observedGeneration ?? 0) && s?.updatedReplicas === r && s.replicas === r && (s.availableReplicas ?? 0) >= r;
    const pods = readyPods((await c.store.list<Pod>("pods", NS, { labelSelector: `app=${name}` })).items);
    return done && pods.length === r && pods.every((p) => p.spec.containers[0]!.image === image) ? d : undefined;
  }, { timeoutMs, what: `${name} rolled out to ${image}` });
}

describe("deployment controller (integration)", function () {
  this.timeout(60_000);
  let c: TestCluster;
  let kubelet: FakeKubelet;

  before(async () => {
    c = await startTestCluster({ actors: [{ def: deploymentController }, { def: replicationController }, { def: garbageCollector }] });
    await c.store.create("namespaces", undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }).catch(() => undefined);
    kubelet = await startFakeKubelet(c.nc, c.cluster, { readyDelayMs: 60 });
  });
  after(async () => {
    await kubelet?.stop();
    await c?.stop();
  });

  it("rolls out a new template without ever going below replicas - maxUnavailable ready or above replicas + maxSurge pods", async () => {
    await c.store.create("deployments", NS, deployment("web", "v1"));
    const d1 = await rolledOut(c, "web", "v1");
    expect(d1.metadata.annotations?.[REV]).to.equal("1");
    expect(d1.status?.conditions?.map((x) => [x.type, x.status, x.reason])).to.deep.equal([
      ["Available", "True", "MinimumReplicasAvailable"],
      ["Progressing", "True", "NewReplicaSetAvailable"],
    ]);
    const w = await watchPods(c, "web");
    w.arm();
    await setImage(c, "web", "v2");
    const d2 = await rolledOut(c, "web", "v2");
    w.stop();
    expect(w.rec.events).to.be.greaterThan(8);
    expect(w.rec.minReady, "ready pods never below replicas - maxUnavailable").to.be.at.least(4 - 1);
    expect(w.rec.maxLive, "pods never above replicas + maxSurge").to.be.at.most(4 + 1);
    expect(d2.metadata.annotations?.[REV]).to.equal("2");
    const rss = (await c.store.list<ReplicaSet>("replicasets", NS, { labelSelector: "app=web" })).items;
    expect(rss).to.have.length(2);
    for (const rs of rss) {
      const hash = rs.metadata.labels?.["pod-template-hash"];
      expect(rs.metadata.name).to.equal(`web-${hash}`);
      expect(rs.spec.selector.matchLabels?.["pod-template-hash"]).to.equal(hash);
      expect(rs.metadata.ownerReferences?.[0]).to.include({ kind: "Deployment", uid: d2.metadata.uid, controller: true });
    }
  });

  it("undoes to the previous template the way kubectl rollout undo does", async () => {
    // kubectl reads the ReplicaSets, picks the previous revision and json-patches the Deployment.
    const rss = (await c.store.list<ReplicaSet>("replicasets", NS, { labelSelector: "app=web" })).items;
    const prev = rss.find((rs) => rs.metadata.annotations?.[REV] === "1")!;
    const template = structuredClone(prev.spec.template);
    delete template.metadata!.labels!["pod-template-hash"];
    const annotations = Object.fromEntries(Object.entries(prev.metadata.annotations ?? {}).filter(([k]) => !k.startsWith("deployment.kubernetes.io/")));
    await c.store.patch("deployments", NS, "web", "json", [
      { op: "replace", path: "/spec/template", value: template },
      { op: "replace", path: "/metadata/annotations", value: annotations },
    ]);
    const d = await rolledOut(c, "web", "v1");
    await waitFor(async () => (await c.store.get<Deployment>("deployments", NS, "web")).metadata.annotations?.[REV] === "3", { what: "revision 3" });
    const revived = await c.store.get<ReplicaSet>("replicasets", NS, prev.metadata.name!);
    expect(revived.metadata.annotations?.[REV]).to.equal("3");
    expect(revived.spec.replicas).to.equal(4);
    expect((await c.store.list("replicasets", NS, { labelSelector: "app=web" })).items, "no third ReplicaSet").to.have.length(2);
    expect(d.status?.updatedReplicas).to.equal(4);
  });

  it("deleting a Deployment removes its ReplicaSets and pods", async () => {
    await c.store.delete("deployments", NS, "web");
    await waitFor(async () => {
      const rss = (await c.store.list("replicasets", NS, { labelSelector: "app=web" })).items;
      const pods = (await c.store.list("pods", NS, { labelSelector: "app=web" })).items;
      return rss.length === 0 && pods.length === 0;
    }, { what: "ReplicaSets and pods gone", timeoutMs: 15_000 });
  });

  it("a standby finishes a rollout after the leader is killed, with no duplicate pods", async () => {
    // The controllers of this suite step aside: two separate processes compete for leadership.
    for (const a of c.host.actors.filter((x) => x.kind !== "store")) await a.stop();
    const procs: ChildProcess[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const p = spawn(process.execPath, ["--import", "tsx", "specs/harness/controller-host.ts", c.url, c.cluster, "1500"], { stdio: ["ignore", "pipe", "inherit"] });
        procs.push(p);
        await new Promise<void>((res, rej) => {
          p.stdout!.on("data", (b: Buffer) => b.toString().includes("ready") && res());
          p.on("exit", (code) => rej(new Error(`controller host exited ${code}`)));
        });
      }
      await c.store.create("deployments", NS, deployment("api", "v1", { replicas: 6, maxSurge: 1, maxUnavailable: 0 }));
      await rolledOut(c, "api", "v1");
      const w = await watchPods(c, "api");
      w.arm();
      await setImage(c, "api", "v2");
      // Mid-rollout: some pods of the new template exist, not all.
      await waitFor(async () => {
        const pods = (await c.store.list<Pod>("pods", NS, { labelSelector: "app=api" })).items;
        const n = pods.filter((p) => p.spec.containers[0]!.image === "v2").length;
        return n >= 1 && n < 6;
      }, { what: "rollout under way" });
      const leader = (await pingActors(c.nc, c.cluster)).find((a) => a.kind === "deployment-controller" && a.leader);
      expect(leader, "a deployment-controller leader").to.not.equal(undefined);
      process.kill(leader!.pid, "SIGKILL");
      const d = await rolledOut(c, "api", "v2", 20_000);
      w.stop();
      const pods = (await c.store.list<Pod>("pods", NS, { labelSelector: "app=api" })).items.filter((p) => !p.metadata.deletionTimestamp);
      expect(pods, "exactly replicas pods").to.have.length(6);
      // Two leaders at once would show here: the ReplicaSets asked for more than replicas + maxSurge
      // in total, or one held more pods than it was ever asked for. (The live pods themselves may
      // be one over for a moment, as in Kubernetes: an old ReplicaSet scaled down still has the pod
      // its controller is about to delete when the new one's pod is created.)
      expect(w.rec.maxDesired, "the ReplicaSets never asked for more than replicas + maxSurge").to.be.at.most(7);
      expect(w.overfilled(), "no ReplicaSet held more pods than it was asked for").to.deep.equal([]);
      expect(w.rec.maxLive, "live pods at most one over replicas + maxSurge, for a moment").to.be.at.most(8);
      expect(w.rec.minReady, "never fewer than replicas - maxUnavailable ready").to.be.at.least(6);
      expect(d.metadata.annotations?.[REV]).to.equal("2");
    } finally {
      for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    }
  });
});
