/**
 * The bus refuses the wrong callers: a cluster started by `flotilla up` (real nats-server, the
 * project's own config) has no anonymous user, a node's credentials reach only its own subjects,
 * and the store refuses a node's writes to other nodes' Node, Lease and pods (NodeRestriction).
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { RunningCluster } from "../../cli/up.ts";
import type { Credentials } from "../../runtime/cluster/credentials.ts";
import type { Node, Pod, KubeObject } from "../../bus/resources.ts";
import { expect } from "chai";
import { mkdtempSync, rmSync, statSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kvm } from "@nats-io/kv";
import { jetstreamManager } from "@nats-io/jetstream";
import { up } from "../../cli/up.ts";
import { connectNats } from "../../runtime/host.ts";
import { StoreClient } from "../../bus/store-client.ts";
import { subjects, kvPrefix } from "../../bus/subjects.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import type { NatsServer } from "../../runtime/nats-server.ts";
import { credentialsOf, readCredentials, credentialsPath, clusterUsers, sysPassword, nodeTokenOf } from "../../runtime/cluster/credentials.ts";
import { newJoinToken } from "../../runtime/cluster/token.ts";
import { findNatsServer, startNatsServer } from "../../runtime/nats-server.ts";
import { openRegistry } from "../../runtime/cluster/registry.ts";
import { serveNodeJoins, requestNodeCredentials } from "../../runtime/cluster/node-credentials.ts";
import { waitFor } from "../harness/cluster.ts";
import { runCluster } from "../harness/run.ts";

const refusal = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected a refusal");
};

/**
 * A connection the server must refuse: its refusal message. A connect that timed out on a loaded
 * machine says nothing about credentials, so it is tried again (three times at most).
 */
const connectRefusal = async (connect: () => Promise<unknown>): Promise<string> => {
  let msg = "";
  for (let i = 0; i < 3; i++) {
    msg = await refusal(connect());
    if (!/timeout/i.test(msg)) return msg;
  }
  return msg;
};

const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return "ok";
  } catch (e) {
    return e instanceof FlotillaError ? e.code : (e as Error).message;
  }
};

describe("the secured bus", function () {
  this.timeout(90_000);
  let dir: string;
  let c: RunningCluster;
  let cluster: string;
  let admin: NatsConnection;
  let store: StoreClient;
  let node1: NatsConnection;
  let node1Creds: Credentials;

  before(async function () {
    if (!findNatsServer()) this.skip();
    process.env.FLOTILLA_LOG ??= "warn";
    dir = join(mkdtempSync(join(tmpdir(), "flotilla-bus-security-")), "data");
    cluster = runCluster("sec");
    c = await up({ dataDir: dir, nodes: 2, engine: "simulated", port: 0, quiet: true, cluster });
    admin = await connectNats(c.natsUrl, "spec-admin", c.admin);
    store = new StoreClient(admin, cluster);
    node1Creds = readCredentials(credentialsPath(dir, "node-node-1"))!;
    node1 = await connectNats(c.natsUrl, "spec-node-1", node1Creds);
    await waitFor(async () => (await store.list<Node>("nodes")).items.length === 2, { timeoutMs: 20_000, what: "both nodes registered" });
  });

  after(async () => {
    await node1?.close().catch(() => undefined);
    await admin?.close().catch(() => undefined);
    await c?.stop();
    if (dir) rmSync(join(dir, ".."), { recursive: true, force: true });
  });

  it("refuses a client without credentials", async () => {
    expect(await refusal(connectNats(c.natsUrl, "spec-anonymous", undefined, { maxReconnectAttempts: 0, timeout: 3000 }))).to.match(/Authorization Violation/);
  });

  it("refuses the passwords of another cluster", async () => {
    const other = newJoinToken();
    for (const id of [{ role: "admin" as const }, { role: "store" as const }, { role: "node" as const, node: "node-1" }]) {
      const msg = await connectRefusal(() => connectNats(c.natsUrl, "spec-other-cluster", credentialsOf(other, id), { maxReconnectAttempts: 0, timeout: 3000 }));
      expect(msg, id.role).to.match(/Authorization Violation/);
    }
  });

  it("keeps the data dir 0700 and the token and credential files 0600", () => {
    expect(statSync(dir).mode & 0o777).to.equal(0o700);
    expect(statSync(join(dir, "token")).mode & 0o777).to.equal(0o600);
    expect(statSync(join(dir, "credentials")).mode & 0o777).to.equal(0o700);
    const files = readdirSync(join(dir, "credentials"));
    expect(files).to.include.members(["admin.json", "control.json", "store.json", "node-node-1.json", "node-node-2.json"]);
    for (const f of files) expect(statSync(join(dir, "credentials", f)).mode & 0o777, f).to.equal(0o600);
  });

  it("does not let a node's credentials write JetStream KV or use the JetStream API beyond watching", async () => {
    const s = subjects(cluster);
    const kv = await new Kvm(node1).open(s.bucket());
    expect(await refusal(kv.put("configmaps.default.planted", JSON.stringify({ metadata: { name: "planted" } })))).to.match(/permission|timeout|Permissions/i);
    const jsm = await jetstreamManager(node1, { timeout: 2000 });
    expect(await refusal(jsm.streams.purge(s.kvStream(s.bucket())))).to.match(/permission|timeout|Permissions/i);
    expect(await refusal(jsm.streams.delete(s.kvStream(s.leasesBucket())))).to.match(/permission|timeout|Permissions/i);
    // Nothing landed: the object is not there and the buckets still hold the cluster.
    expect(await codeOf(store.get("configmaps", "default", "planted"))).to.equal(ErrorCode.NotFound);
    expect((await store.list<Node>("nodes")).items.map((n) => n.metadata.name).sort()).to.deep.equal(["node-1", "node-2"]);
  });

  it("does not let the control plane write JetStream KV or use the JetStream API beyond watching, nor the system account", async () => {
    const s = subjects(cluster);
    const control = await connectNats(c.natsUrl, "spec-control", readCredentials(credentialsPath(dir, "control"))!, { maxReconnectAttempts: 0, timeout: 3000 });
    try {
      // What its informers need works: a watch of the cluster's bucket sees the nodes.
      const kv = await new Kvm(control).open(s.bucket());
      const w = await kv.watch({ key: "nodes.>" });
      const seen: string[] = [];
      for await (const e of w) {
        seen.push(e.key);
        if (seen.length === 2) break;
      }
      w.stop();
      expect(seen.length).to.equal(2);
      // A watch's sync check (bus/kv.ts) asks the stream for the next message under its filter:
      // no more than a consumer with that filter reads.
      const jsm = await jetstreamManager(control, { timeout: 2000 });
      const next = await jsm.streams.getMessage(s.kvStream(s.bucket()), { seq: 1, next_by_subj: `${kvPrefix(s.bucket())}nodes.>` } as never);
      expect(next?.subject).to.match(/\.nodes\./);
      // Nothing else: no KV write, no stream change, no stream creation, no other stream read.
      expect(await refusal(kv.put("configmaps.default.planted-by-control", JSON.stringify({ metadata: { name: "planted-by-control" } })))).to.match(/permission|timeout|Permissions/i);
      expect(await refusal(jsm.streams.purge(s.kvStream(s.bucket())))).to.match(/permission|timeout|Permissions/i);
      expect(await refusal(jsm.streams.delete(s.kvStream(s.eventsBucket())))).to.match(/permission|timeout|Permissions/i);
      expect(await refusal(jsm.streams.add({ name: "PLANTED", subjects: ["planted.>"] }))).to.match(/permission|timeout|Permissions/i);
      expect(await refusal(jsm.streams.getMessage("KV_flotilla-elsewhere", { seq: 1 }))).to.match(/permission|timeout|Permissions/i);
      // A forwarded KV write is stored unvalidated: the control plane may neither send one to a
      // bucket's writer nor pose as the writer.
      expect(await refusal(control.request(s.kvWrite("main", "server-a"), new Uint8Array(0), { timeout: 2000 }))).to.match(/permission|timeout|Permissions/i);
      const posing = control.subscribe(s.kvWrite("main", "server-a"));
      expect(String(await posing.closed)).to.match(/permission/i);
      // The system account is not the control plane's: its password is not control's.
      expect(await refusal(connectNats(c.natsUrl.replace("nats://", `nats://sys:${encodeURIComponent(readCredentials(credentialsPath(dir, "control"))!.password)}@`), "spec-control-sys", undefined, { maxReconnectAttempts: 0, timeout: 3000 }))).to.match(/Authorization Violation/);
    } finally {
      await control.close();
    }
    expect(await codeOf(store.get("configmaps", "default", "planted-by-control"))).to.equal(ErrorCode.NotFound);
    expect(await (await jetstreamManager(admin)).streams.info("PLANTED").then(() => "exists", () => "absent")).to.equal("absent");
  });

  it("does not let a node send store requests as another node or as the control plane", async () => {
    const asOther = new StoreClient(node1, cluster, 3000, { asNode: "node-2" });
    expect(await codeOf(asOther.patch("nodes", undefined, "node-2", "merge", { metadata: { labels: { spoofed: "yes" } } }))).to.not.equal("ok");
    const asControl = new StoreClient(node1, cluster, 3000);
    expect(await codeOf(asControl.create("configmaps", "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "from-node" } }))).to.not.equal("ok");
    expect((await store.get<Node>("nodes", undefined, "node-2")).metadata.labels?.spoofed).to.equal(undefined);
    expect(await codeOf(store.get("configmaps", "default", "from-node"))).to.equal(ErrorCode.NotFound);
  });

  describe("NodeRestriction in the store", () => {
    let asNode1: StoreClient;
    before(() => {
      asNode1 = new StoreClient(node1, cluster, 5000, { asNode: "node-1" });
    });

    it("refuses another node's Node and Lease, and accepts its own", async () => {
      const other = await asNode1.get<Node>("nodes", undefined, "node-2");
      expect(await codeOf(asNode1.updateStatus("nodes", { ...other, status: { ...other.status, conditions: [] } }))).to.equal(ErrorCode.Forbidden);
      expect(await codeOf(asNode1.patch("nodes", undefined, "node-2", "merge", { metadata: { labels: { taken: "yes" } } }))).to.equal(ErrorCode.Forbidden);
      expect(await codeOf(asNode1.delete("nodes", undefined, "node-2"))).to.equal(ErrorCode.Forbidden);
      const lease = await asNode1.get<KubeObject>("leases", "kube-node-lease", "node-2");
      expect(await codeOf(asNode1.update("leases", { ...lease, spec: { ...(lease as { spec?: object }).spec, holderIdentity: "node-1" } } as KubeObject))).to.equal(ErrorCode.Forbidden);
      expect(await codeOf(asNode1.create("configmaps", "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "node-made" } }))).to.equal(ErrorCode.Forbidden);
      // Its own Node: allowed.
      expect(await codeOf(asNode1.patch("nodes", undefined, "node-1", "merge", { metadata: { labels: { mine: "yes" } } }))).to.equal("ok");
      expect((await store.get<Node>("nodes", undefined, "node-2")).metadata.labels?.taken).to.equal(undefined);
    });

    it("refuses status and deletion of another node's pods, and accepts its own", async () => {
      const pod = (name: string, node: string) => ({ apiVersion: "v1", kind: "Pod", metadata: { name }, spec: { nodeName: node, containers: [{ name: "c", image: "busybox" }] } });
      await store.create("pods", "default", pod("on-node-2", "node-2"));
      await store.create("pods", "default", pod("on-node-1", "node-1"));
      const theirs = await waitFor(async () => {
        const p = await store.get<Pod>("pods", "default", "on-node-2");
        return p.status?.phase === "Running" ? p : undefined;
      }, { timeoutMs: 20_000, what: "the pod on node-2 running" });
      expect(await codeOf(asNode1.updateStatus("pods", { ...theirs, status: { ...theirs.status, phase: "Failed" } }))).to.equal(ErrorCode.Forbidden);
      expect(await codeOf(asNode1.delete("pods", "default", "on-node-2"))).to.equal(ErrorCode.Forbidden);
      expect(await codeOf(asNode1.create("pods", "default", pod("made-by-node", "node-1")))).to.equal(ErrorCode.Forbidden);
      expect(await codeOf(asNode1.bind("default", "on-node-2", "node-1"))).to.equal(ErrorCode.Forbidden);
      expect(await codeOf(asNode1.bindAll([{ namespace: "default", name: "on-node-2", node: "node-1" }]))).to.equal(ErrorCode.Forbidden);
      expect((await store.get<Pod>("pods", "default", "on-node-2")).status?.phase).to.equal("Running");
      const mine = await store.get<Pod>("pods", "default", "on-node-1");
      expect(await codeOf(asNode1.patch("pods", "default", "on-node-1", "merge", { metadata: { annotations: { checked: "yes" } } }))).to.equal("ok");
      expect(mine.spec?.nodeName).to.equal("node-1");
    });
  });
});

describe("a worker's node credentials", function () {
  this.timeout(60_000);
  const token = newJoinToken();
  const cluster = "join-spec";
  let server: NatsServer;
  let nc: NatsConnection;
  let joins: { unsubscribe(): void };
  const nodes = new Set<string>();

  before(async function () {
    if (!findNatsServer()) this.skip();
    server = await startNatsServer({ port: 0, users: clusterUsers(token, cluster, nodes), passwords: { sys: sysPassword(token) }, quiet: true });
    nc = await connectNats(server.url, "spec-server", credentialsOf(token, { role: "store" }));
    const registry = await openRegistry(nc, cluster);
    joins = serveNodeJoins(nc, {
      cluster,
      token,
      registry,
      servers: async () => ({ nats: [server.url], leaf: [] }),
      onNode: (name) => {
        nodes.add(name);
        server.reload(clusterUsers(token, cluster, nodes));
      },
    });
  });

  after(async () => {
    joins?.unsubscribe();
    await nc?.close().catch(() => undefined);
    await server?.stop();
  });

  it("are issued for the node token, and work for that node's subjects only", async () => {
    const issued = await requestNodeCredentials([server.url], nodeTokenOf(token), cluster, "w1", "a-secret-of-worker-one");
    expect(issued.credentials.user).to.equal("node-w1");
    const w1 = await connectNats(server.url, "spec-w1", issued.credentials, { maxReconnectAttempts: 0, timeout: 3000 });
    try {
      // The store subjects of another node are not its to publish on: that request never arrives,
      // its own (sent after it, on the same connection) does.
      const s = subjects(cluster);
      const seen: string[] = [];
      const sub = nc.subscribe(s.storeAsAnyNode(), { callback: (_e, m) => void seen.push(m.subject) });
      await nc.flush();
      w1.publish(s.storeAsNode("w2", "get"), new TextEncoder().encode("{}"));
      w1.publish(s.storeAsNode("w1", "get"), new TextEncoder().encode("{}"));
      await w1.flush().catch(() => undefined);
      await waitFor(() => seen.includes(s.storeAsNode("w1", "get")), { what: "the node's own request" });
      sub.unsubscribe();
      expect(seen).to.deep.equal([s.storeAsNode("w1", "get")]);
    } finally {
      await w1.close();
    }
  });

  it("are refused for a name another worker holds, and given again to the same worker", async () => {
    const again = await requestNodeCredentials([server.url], nodeTokenOf(token), cluster, "w1", "a-secret-of-worker-one");
    expect(again.credentials.user).to.equal("node-w1");
    expect(await refusal(requestNodeCredentials([server.url], nodeTokenOf(token), cluster, "w1", "another-workers-secret"))).to.match(/joined before/);
  });

  it("do not come with the node token alone: it opens no other user", async () => {
    const nodeToken = nodeTokenOf(token);
    for (const id of [{ role: "admin" as const }, { role: "store" as const }, { role: "control" as const }]) {
      expect(await connectRefusal(() => connectNats(server.url, "spec-guess", credentialsOf(nodeToken, id), { maxReconnectAttempts: 0, timeout: 3000 })), id.role).to.match(/Authorization Violation/);
    }
    expect(await refusal(requestNodeCredentials([server.url], newJoinToken(), cluster, "w3", "a-secret-of-worker-three"))).to.match(/refused this token/);
  });
});
