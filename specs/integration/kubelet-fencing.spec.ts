import { expect } from "chai";
import { createServer, connect } from "node:net";
import type { Server, Socket } from "node:net";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import type { TestCluster } from "../harness/cluster.ts";
import type { Host } from "../../runtime/host.ts";
import type { Pod } from "../../bus/resources.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { startHost } from "../../runtime/host.ts";
import { kubelet } from "../../actors/kubelet/index.ts";
import { storeActor } from "../../actors/store/index.ts";
import { podOf, waitPod, running, pidAlive as alive, killProcessContainers } from "../actors/kubelet/behaviours.ts";

/** A TCP relay in front of nats-server that the spec can cut and restore (a network partition). */
class Relay {
  private server?: Server;
  private sockets = new Set<Socket>();
  constructor(private readonly target: number, readonly port: number) {}
  static async start(target: number): Promise<Relay> {
    const probe = createServer();
    const port = await new Promise<number>((r) => probe.listen(0, "127.0.0.1", () => r((probe.address() as { port: number }).port)));
    await new Promise((r) => probe.close(r));
    const relay = new Relay(target, port);
    await relay.open();
    return relay;
  }
  async open(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target, "127.0.0.1");
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.server!.listen(this.port, "127.0.0.1", () => r()));
  }
  async cut(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server!.close(r));
  }
}

/** A pod owned by a controller of this kind: a StatefulSet's must never run twice, a ReplicaSet's may. */
function ownedBy(kind: "StatefulSet" | "ReplicaSet", name: string): (p: Pod) => Pod {
  return (p) => ({ ...p, metadata: { ...p.metadata, ownerReferences: [{ apiVersion: "apps/v1", kind, name, uid: `${kind}-${name}`, controller: true }] } });
}
const sleeper = (name: string) => [{ name, image: "busybox", command: ["sleep", "1000"] }];

describe("kubelet self-fencing (process engine)", function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  let relay: Relay;
  let host: Host;
  const dataDir = mkdtempSync(join(tmpdir(), "flotilla-fence-"));
  const node = "fence-node";
  const pidOf = (p: Pod) => {
    const id = p.status!.containerStatuses![0]!.containerID!.replace("process://", "");
    return (JSON.parse(readFileSync(join(dataDir, "kubelet", cluster.cluster, node, "containers", id, "meta.json"), "utf8")) as { pid: number }).pid;
  };

  before(async () => {
    cluster = await startTestCluster();
    relay = await Relay.start(cluster.server.port);
    host = await startHost({
      natsUrl: `nats://127.0.0.1:${relay.port}`,
      cluster: cluster.cluster,
      actors: [{ def: kubelet, opts: { nodeName: node, engine: "process", dataDir, leaseDurationSeconds: 1, renewIntervalMs: 250 } }],
    });
  });
  after(async () => {
    await host?.stop().catch(() => undefined);
    await relay?.cut().catch(() => undefined);
    await cluster?.stop();
    killProcessContainers(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("stops its StatefulSet pods when cut off longer than its lease, keeps the others running, and on return runs only what is still bound to it", async () => {
    const keep = ownedBy("StatefulSet", "db")(podOf(node, sleeper("keep")));
    const gone = ownedBy("StatefulSet", "db")(podOf(node, sleeper("gone")));
    const web = ownedBy("ReplicaSet", "web")(podOf(node, sleeper("web")));
    const evicted = ownedBy("ReplicaSet", "web")(podOf(node, sleeper("evicted")));
    for (const p of [keep, gone, web, evicted]) await cluster.store.create("pods", "default", p);
    const [keepPid, gonePid, webPid, evictedPid] = await Promise.all([keep, gone, web, evicted].map(async (p) => pidOf(await waitPod(cluster, p, running, `${p.spec.containers[0]!.name} running`))));

    await relay.cut();
    // While the node is away, two of its pods are force-deleted (as the node controller's eviction would).
    for (const p of [gone, evicted]) await cluster.store.delete("pods", "default", p.metadata.name!, { gracePeriodSeconds: 0 });
    await waitFor(() => !alive(keepPid!) && !alive(gonePid!), { what: "the StatefulSet pods' containers stopped", timeoutMs: 10_000 });
    // A ReplicaSet's pods run on while the node cannot reach the control plane, as in Kubernetes.
    expect(alive(webPid!) && alive(evictedPid!), "the ReplicaSet pods still run while fenced").to.equal(true);

    await relay.open();
    const back = await waitPod(cluster, keep, (p) => running(p) && pidOf(p) !== keepPid, "keep restarted after reconnect", 20_000);
    // Back online: the pod deleted meanwhile is stopped, the other one never stopped.
    await waitFor(() => !alive(evictedPid!), { what: "the pod deleted while the node was away stopped", timeoutMs: 10_000 });
    expect(alive(webPid!), "the ReplicaSet pod that stayed bound kept its process").to.equal(true);
    expect(alive(pidOf(back))).to.equal(true);
    const procs = readFileSync(join(dataDir, "kubelet", cluster.cluster, node, "sandboxes", `${back.metadata.uid}.json`), "utf8");
    expect(procs).to.include(keep.metadata.name);
    // The deleted pods' containers are removed (the evicted one's just after its process ended) and none is started again.
    const containersDir = join(dataDir, "kubelet", cluster.cluster, node, "containers");
    const metas = () =>
      readdirSync(containersDir).flatMap((id) => {
        try {
          return [readFileSync(join(containersDir, id, "meta.json"), "utf8")];
        } catch {
          return []; // removed while being read
        }
      });
    await waitFor(() => ![gone, evicted].some((p) => metas().some((m) => m.includes(p.metadata.name!))), { what: "the deleted pods' containers removed", timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 1000));
    for (const p of [gone, evicted]) expect(metas().some((m) => m.includes(p.metadata.name!)), `the deleted pod ${p.spec.containers[0]!.name} does not run again`).to.equal(false);
    const all = await cluster.store.list<Pod>("pods", "default");
    expect(all.items.map((p) => p.metadata.name)).to.not.include.members([gone.metadata.name, evicted.metadata.name]);
  });
});

describe("kubelet self-fencing when the store stops answering (NATS still connected)", function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  let store: Host;
  let host: Host;
  const dataDir = mkdtempSync(join(tmpdir(), "flotilla-fence-store-"));
  const node = "fence-store-node";
  const pidOf = (p: Pod) => {
    const id = p.status!.containerStatuses![0]!.containerID!.replace("process://", "");
    return (JSON.parse(readFileSync(join(dataDir, "kubelet", cluster.cluster, node, "containers", id, "meta.json"), "utf8")) as { pid: number }).pid;
  };

  before(async () => {
    cluster = await startTestCluster({ stores: 0 });
    store = await startHost({ natsUrl: cluster.url, cluster: cluster.cluster, actors: [{ def: storeActor }] });
    host = await startHost({
      natsUrl: cluster.url,
      cluster: cluster.cluster,
      actors: [{ def: kubelet, opts: { nodeName: node, engine: "process", dataDir, leaseDurationSeconds: 1, renewIntervalMs: 250 } }],
    });
  });
  after(async () => {
    await host?.stop().catch(() => undefined);
    await store?.stop().catch(() => undefined);
    await cluster?.stop();
    killProcessContainers(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("stops its StatefulSet pods when it cannot renew its lease for the lease's duration, and starts them again once it can", async () => {
    const keep = ownedBy("StatefulSet", "db")(podOf(node, sleeper("keep")));
    const web = ownedBy("ReplicaSet", "web")(podOf(node, sleeper("web")));
    for (const p of [keep, web]) await cluster.store.create("pods", "default", p);
    const pid = pidOf(await waitPod(cluster, keep, running, "keep running"));
    const webPid = pidOf(await waitPod(cluster, web, running, "web running"));

    await store.stop();
    await waitFor(() => !alive(pid), { what: "the container stopped although NATS never went away", timeoutMs: 10_000 });
    expect(alive(webPid), "the ReplicaSet pod runs on while the store does not answer").to.equal(true);

    store = await startHost({ natsUrl: cluster.url, cluster: cluster.cluster, actors: [{ def: storeActor }] });
    const back = await waitPod(cluster, keep, (p) => running(p) && pidOf(p) !== pid, "keep started again", 20_000);
    expect(alive(pidOf(back))).to.equal(true);
    expect(pidOf(await waitPod(cluster, web, running, "web running")), "the ReplicaSet pod was never restarted").to.equal(webPid);
  });
});
