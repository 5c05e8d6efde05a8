/**
 * Client connections to a `flotilla server` run over TLS with the cluster CA: a client that does not
 * speak TLS gets no answer to its password, a client that trusts another CA is refused, and a worker
 * holding only the token checks the CA the server presents against the token's hash before it
 * sends any password.
 */
import type { RunningServer } from "../../runtime/cluster/server.ts";
import { expect } from "chai";
import { mkdtempSync, rmSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runServer } from "../../runtime/cluster/server.ts";
import { connectNats } from "../../runtime/host.ts";
import { findNatsServer, freePorts } from "../../runtime/nats-server.ts";
import { newJoinToken, withCaHash, caHashOf } from "../../runtime/cluster/token.ts";
import { credentialsOf, nodeTokenOf } from "../../runtime/cluster/credentials.ts";
import { generateCa } from "../../actors/api-server/certs.ts";
import { nodeJoin } from "../../cli/node-join.ts";
import { StoreClient } from "../../bus/store-client.ts";
import { runCluster } from "../harness/run.ts";
import { waitFor } from "../harness/cluster.ts";

const refusal = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected a refusal");
};

/** Speaks NATS without TLS: sends CONNECT with a password and PING; returns what came back before the server hung up. */
function plainClient(host: string, port: number, user: string, pass: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host, port });
    let got = "";
    let sent = false;
    const t = setTimeout(() => {
      s.destroy();
      resolve(got);
    }, 5000);
    s.on("data", (d) => {
      got += d.toString("latin1");
      if (!sent && got.includes("\r\n")) {
        sent = true;
        s.write(`CONNECT ${JSON.stringify({ user, pass, verbose: false, pedantic: false, tls_required: false })}\r\nPING\r\n`);
      }
    });
    s.on("close", () => {
      clearTimeout(t);
      resolve(got);
    });
    s.on("error", (e) => (got ? undefined : reject(e)));
  });
}

describe("TLS on client connections", function () {
  this.timeout(120_000);
  let dir: string;
  let server: RunningServer;
  let token: string;
  let caPem: string;
  let cluster: string;
  let host: string;
  let port: number;
  const stops: (() => Promise<void>)[] = [];

  before(async function () {
    if (!findNatsServer()) this.skip();
    process.env.FLOTILLA_LOG ??= "warn";
    dir = mkdtempSync(join(tmpdir(), "flotilla-bus-tls-"));
    cluster = runCluster("tls");
    token = newJoinToken();
    host = "127.0.0.1";
    const [nats, route, leaf, api] = (await freePorts(host, 4)) as [number, number, number, number];
    port = nats;
    server = await runServer({ dir: join(dir, "server"), token, init: true, config: { name: "tls-a", address: host, cluster, ports: { nats, route, leaf, api }, peers: [] } });
    caPem = readFileSync(join(dir, "server", "pki", "ca.crt"), "utf8");
  });

  after(async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("gives a client that does not speak TLS no answer to its password", async () => {
    const answer = await plainClient(host, port, "admin", credentialsOf(token, { role: "admin" }).password);
    expect(answer).to.match(/^INFO /);
    expect(JSON.parse(answer.slice(5, answer.indexOf("\r\n"))).tls_required).to.equal(true);
    expect(answer).to.not.include("PONG");
  });

  it("refuses a client that trusts another CA, and accepts one that trusts the cluster CA", async () => {
    const other = join(dir, "other-ca.crt");
    writeFileSync(other, generateCa().certPem);
    const msg = await refusal(connectNats(server.natsUrl, "spec-wrong-ca", credentialsOf(token, { role: "admin" }, other), { maxReconnectAttempts: 0, timeout: 3000 }));
    expect(msg).to.match(/certificate|self.signed|unable to verify/i);
    const nc = await connectNats(server.natsUrl, "spec-right-ca", credentialsOf(token, { role: "admin" }, join(dir, "server", "pki", "ca.crt")), { maxReconnectAttempts: 0, timeout: 3000 });
    expect(nc.info?.tls_required).to.equal(true);
    await nc.close();
  });

  it("refuses a node join whose token names another CA, before any password is sent", async () => {
    const wrong = withCaHash(nodeTokenOf(token), caHashOf(generateCa().certPem));
    const workDir = join(dir, "worker-wrong");
    const msg = await refusal(nodeJoin({ server: `${host}:${port}`, token: wrong, name: "w-wrong", cluster, engine: "simulated", dataDir: workDir, labels: {} }));
    expect(msg).to.match(/not trusted: .*no CA whose SHA-256 is the token's/);
    expect(existsSync(join(workDir, "nodes", "w-wrong", "credentials"))).to.equal(false);
  });

  it("refuses a token without a CA hash on a worker that has never seen the CA", async () => {
    const msg = await refusal(nodeJoin({ server: `${host}:${port}`, token: nodeTokenOf(token), name: "w-bare", cluster, engine: "simulated", dataDir: join(dir, "worker-bare"), labels: {} }));
    expect(msg).to.match(/carries no CA hash/);
  });

  it("lets a worker holding only the node token with the CA hash join and register its node", async () => {
    const full = withCaHash(nodeTokenOf(token), caHashOf(caPem));
    const joined = await nodeJoin({ server: `${host}:${port}`, token: full, name: "w1", cluster, engine: "simulated", dataDir: join(dir, "worker"), labels: {} });
    stops.push(() => joined.host.stop());
    expect(caHashOf(readFileSync(join(dir, "worker", "nodes", "w1", "pki", "ca.crt"), "utf8"))).to.equal(caHashOf(caPem));
    const admin = await connectNats(server.natsUrl, "spec-admin", credentialsOf(token, { role: "admin" }, join(dir, "server", "pki", "ca.crt")));
    stops.push(() => admin.close());
    const store = new StoreClient(admin, cluster);
    await waitFor(async () => (await store.get("nodes", undefined, "w1").catch(() => undefined)) !== undefined, { timeoutMs: 30_000, what: "node w1 registered" });
  });
});
