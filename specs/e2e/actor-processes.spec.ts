import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import type { NatsServer } from "../../runtime/nats-server.ts";
import type { NatsConnection } from "@nats-io/transport-node";
import type { ConfigMap } from "../../bus/resources.ts";
import { startNatsServer } from "../../runtime/nats-server.ts";
import { connectNats, pingActors } from "../../runtime/host.ts";
import { StoreClient } from "../../bus/store-client.ts";
import { waitFor } from "../harness/cluster.ts";
import { Informer } from "../../runtime/informer.ts";

const CLUSTER = "procs";

function startStoreProcess(url: string): ChildProcess {
  return spawn(process.execPath, ["bin/flotilla.mjs", "actor", "store", "--nats", url, "--cluster", CLUSTER], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, FLOTILLA_LOG: "warn" },
  });
}

describe("flotilla actor store (separate processes)", () => {
  let server: NatsServer;
  let nc: NatsConnection;
  const children: ChildProcess[] = [];
  before(async () => {
    server = await startNatsServer({ port: 0, monitorPort: 0 });
    nc = await connectNats(server.url, "spec");
  });
  after(async () => {
    for (const c of children) c.kill("SIGKILL");
    await nc?.close();
    await server?.stop();
  });

  it("serves create/get/watch requests from another process, and a second store process shares the load", async () => {
    children.push(startStoreProcess(server.url), startStoreProcess(server.url));
    await waitFor(async () => (await pingActors(nc, CLUSTER)).filter((a) => a.kind === "store").length === 2, { timeoutMs: 20_000, what: "two stores" });
    const store = new StoreClient(nc, CLUSTER);
    await waitFor(() => store.get("namespaces", undefined, "default"), { timeoutMs: 10_000, what: "bootstrap" });
    const watched = new Informer<ConfigMap>(nc, CLUSTER, { resource: "configmaps", namespace: "default" });
    let adds = 0;
    watched.addHandlers({ add: () => void adds++ });
    await watched.start();
    for (let i = 0; i < 200; i++) {
      await store.create("configmaps", "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `p${i}` }, data: { i: String(i) } } as ConfigMap);
    }
    expect(((await store.get("configmaps", "default", "p199")) as ConfigMap).data).to.deep.equal({ i: "199" });
    expect((await store.list("configmaps", "default")).items).to.have.length(200);
    await waitFor(() => adds === 200, { what: "the watch to see every create" });
    watched.stop();
    // Each store process answered part of the requests (queue group).
    const connz = (await (await fetch(`${server.monitorUrl}/connz`)).json()) as { connections: { name?: string; out_msgs: number }[] };
    const stores = connz.connections.filter((c) => c.name?.startsWith("store/"));
    expect(stores).to.have.length(2);
    for (const s of stores) expect(s.out_msgs).to.be.greaterThan(20);
  });
});
