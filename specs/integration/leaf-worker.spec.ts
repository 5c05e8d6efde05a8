/**
 * `flotilla node join --leaf`: a worker whose only connection to the cluster is the NATS leaf
 * connection it opens itself (TLS, verified with the CA named in the token). Its kubelet registers
 * the node, watches its pods over that connection and runs a process pod.
 */
import type { RunningServer } from "../../runtime/cluster/server.ts";
import type { Pod, Node } from "../../bus/resources.ts";
import { expect } from "chai";
import { mkdtempSync, rmSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runServer } from "../../runtime/cluster/server.ts";
import { connectNats } from "../../runtime/host.ts";
import { findNatsServer, freePorts, FLOTILLA_ACCOUNT } from "../../runtime/nats-server.ts";
import { subjects } from "../../bus/subjects.ts";
import { newJoinToken, withCaHash, caHashOf } from "../../runtime/cluster/token.ts";
import { credentialsOf, nodeTokenOf } from "../../runtime/cluster/credentials.ts";
import { nodeJoin } from "../../cli/node-join.ts";
import { StoreClient } from "../../bus/store-client.ts";
import { runCluster } from "../harness/run.ts";
import { waitFor } from "../harness/cluster.ts";

interface Leafz {
  data: { leafs?: { account: string }[] };
}
interface Connz {
  data: { connections?: { authorized_user?: string; name?: string }[] };
}

describe("a leaf worker (node join --leaf)", function () {
  this.timeout(120_000);
  let dir: string;
  let server: RunningServer;
  let cluster: string;
  let store: StoreClient;
  let ports: { nats: number; route: number; leaf: number; api: number };
  const stops: (() => Promise<void>)[] = [];

  before(async function () {
    if (!findNatsServer()) this.skip();
    process.env.FLOTILLA_LOG ??= "warn";
    dir = mkdtempSync(join(tmpdir(), "flotilla-leaf-"));
    cluster = runCluster("leaf");
    const token = newJoinToken();
    const [nats, route, leaf, api] = (await freePorts("127.0.0.1", 4)) as [number, number, number, number];
    ports = { nats, route, leaf, api };
    server = await runServer({ dir: join(dir, "server"), token, init: true, config: { name: "leaf-hub", address: "127.0.0.1", cluster, ports, peers: [] } });
    const caFile = join(dir, "server", "pki", "ca.crt");
    const admin = await connectNats(server.natsUrl, "spec-admin", credentialsOf(token, { role: "admin" }, caFile));
    stops.push(() => admin.close());
    store = new StoreClient(admin, cluster);
    const nodeToken = withCaHash(nodeTokenOf(token), caHashOf(readFileSync(caFile, "utf8")));
    const joined = await nodeJoin({ server: `127.0.0.1:${nats}`, token: nodeToken, name: "edge-1", cluster, engine: "process", dataDir: join(dir, "worker"), labels: {}, leaf: true });
    stops.push(async () => {
      await joined.host.stop();
      await joined.leafServer?.stop();
    });
  });

  after(async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("connects out as a leaf node, becomes Ready and runs a process pod", async () => {
    await waitFor(async () => {
      const n = await store.get<Node>("nodes", undefined, "edge-1").catch(() => undefined);
      return n?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
    }, { timeoutMs: 30_000, what: "node edge-1 Ready" });
    await store.create<Pod>("pods", "default", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "on-the-edge", namespace: "default" },
      spec: { containers: [{ name: "c", image: "busybox", command: ["sh", "-c", "echo edge; sleep 300"] }] },
    } as Pod);
    const pod = await waitFor(async () => {
      const p = await store.get<Pod>("pods", "default", "on-the-edge").catch(() => undefined);
      return p?.status?.phase === "Running" ? p : undefined;
    }, { timeoutMs: 45_000, what: "pod Running on the leaf worker" });
    expect(pod.spec?.nodeName).to.equal("edge-1");
    // Deleting it goes through the kubelet's pod watch over the leaf connection too.
    await store.delete("pods", "default", "on-the-edge");
    await waitFor(async () => (await store.get<Pod>("pods", "default", "on-the-edge").catch(() => undefined)) === undefined, { timeoutMs: 45_000, what: "pod gone" });
  });

  it("reaches the server only through the leaf connection it opened", async () => {
    const sys = await connectNats(server.sysUrl, "spec-sys", undefined, { tls: { caFile: join(dir, "server", "pki", "ca.crt") } });
    try {
      const s = subjects(cluster);
      const leafz = (await sys.request(s.sysLeafz(), "{}", { timeout: 3000 })).json<Leafz>();
      expect(leafz.data.leafs?.map((l) => l.account)).to.deep.equal([FLOTILLA_ACCOUNT]);
      const connz = (await sys.request(s.sysConnz(), JSON.stringify({ auth: true }), { timeout: 3000 })).json<Connz>();
      const users = (connz.data.connections ?? []).map((c) => c.authorized_user);
      expect(users).to.include("store");
      expect(users, "no client connection of the worker's user").to.not.include("node-edge-1");
    } finally {
      await sys.close();
    }
  });
});

