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

  it("stops its pods when cut off longer than its lease, and on return starts only what is still bound to it", async () => {
    const keep = podOf(node, [{ name: "keep", image: "busybox", command: ["sleep", "1000"] }]);
    const gone = podOf(node, [{ name: "gone", image: "busybox", command: ["sleep", "1000"] }]);
    for (const p of [keep, gone]) await cluster.store.create("pods", "default", p);
    const keepPid = pidOf(await waitPod(cluster, keep, running, "keep running"));
    const gonePid = pidOf(await waitPod(cluster, gone, running, "gone running"));

    await relay.cut();
    // While the node is away, one of its pods is force-deleted (as the node controller's eviction would).
    await cluster.store.delete("pods", "default", gone.metadata.name!, { gracePeriodSeconds: 0 });
    await waitFor(() => !alive(keepPid) && !alive(gonePid), { what: "fenced containers stopped", timeoutMs: 10_000 });

    await relay.open();
    const back = await waitPod(cluster, keep, (p) => running(p) && pidOf(p) !== keepPid, "keep restarted after reconnect", 20_000);
    expect(alive(pidOf(back))).to.equal(true);
    const procs = readFileSync(join(dataDir, "kubelet", cluster.cluster, node, "sandboxes", `${back.metadata.uid}.json`), "utf8");
    expect(procs).to.include(keep.metadata.name);
    const metas = readdirSync(join(dataDir, "kubelet", cluster.cluster, node, "containers")).map((id) => readFileSync(join(dataDir, "kubelet", cluster.cluster, node, "containers", id, "meta.json"), "utf8"));
    expect(metas.some((m) => m.includes(gone.metadata.name!)), "the deleted pod is not started again").to.equal(false);
    const all = await cluster.store.list<Pod>("pods", "default");
    expect(all.items.map((p) => p.metadata.name)).to.not.include(gone.metadata.name);
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

  it("stops its pods when it cannot renew its lease for the lease's duration, and starts them again once it can", async () => {
    const keep = podOf(node, [{ name: "keep", image: "busybox", command: ["sleep", "1000"] }]);
    await cluster.store.create("pods", "default", keep);
    const pid = pidOf(await waitPod(cluster, keep, running, "keep running"));

    await store.stop();
    await waitFor(() => !alive(pid), { what: "the container stopped although NATS never went away", timeoutMs: 10_000 });

    store = await startHost({ natsUrl: cluster.url, cluster: cluster.cluster, actors: [{ def: storeActor }] });
    const back = await waitPod(cluster, keep, (p) => running(p) && pidOf(p) !== pid, "keep started again", 20_000);
    expect(alive(pidOf(back))).to.equal(true);
  });
});
