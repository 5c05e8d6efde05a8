/**
 * The CLI's API client with several servers in its kubeconfig (`flotilla up --servers 3` writes
 * them): when the server in use cannot be reached, the request goes to the next one.
 */
import { expect } from "chai";
import { createServer as createHttpsServer, type Server } from "node:https";
import { createServer as createTcpServer } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { generateCa, generateServerCert } from "../../actors/api-server/certs.ts";
import { kubeconfigYaml } from "../../actors/api-server/kubeconfig.ts";
import { ApiClient, loadKubeconfig } from "../../cli/http.ts";
import { dashboardUrl } from "../../cli/cmd-status.ts";

/** A port on 127.0.0.1 that nobody listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe("CLI api-server failover", function () {
  this.timeout(20_000);
  const dir = mkdtempSync(join(tmpdir(), "flotilla-failover-"));
  const ca = generateCa();
  const cert = generateServerCert(ca, { dns: ["localhost"], ips: ["127.0.0.1"] });
  let live: Server;
  let livePort = 0;
  const seen: string[] = [];
  before(async () => {
    live = createHttpsServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(req.method === "POST" ? 201 : 200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ kind: "Namespace", metadata: { name: "default" } }));
    });
    await new Promise<void>((r) => live.listen(0, "127.0.0.1", r));
    livePort = (live.address() as { port: number }).port;
  });
  after(async () => {
    await new Promise((r) => live.close(r));
    rmSync(dir, { recursive: true, force: true });
  });
  const kubeconfig = (name: string, server: string, servers: string[]) => {
    const p = join(dir, name);
    writeFileSync(p, kubeconfigYaml({ server, servers, caPem: ca.certPem, token: "t" }));
    return p;
  };

  it("moves on to the next api-server the kubeconfig lists when the first refuses, and stays there", async () => {
    const down = `https://127.0.0.1:${await closedPort()}`;
    const up = `https://127.0.0.1:${livePort}`;
    const api = ApiClient.fromKubeconfig(kubeconfig("two", down, [down, up]));
    expect(api.kc.servers).to.deep.equal([down, up]);
    const ns = await api.get<{ metadata: { name: string } }>("/api/v1/namespaces/default");
    expect(ns.metadata.name).to.equal("default");
    expect(api.server).to.equal(up);
    const created = await api.send("POST", "/api/v1/namespaces", { body: { metadata: { name: "x" } } });
    expect(created.status).to.equal(201);
    expect(seen.slice(-2)).to.deep.equal(["GET /api/v1/namespaces/default", "POST /api/v1/namespaces"]);
  });

  it("opens the dashboard on the first api-server that answers", async () => {
    const down = `https://127.0.0.1:${await closedPort()}`;
    const up = `https://127.0.0.1:${livePort}`;
    const d = await dashboardUrl(kubeconfig("dash", down, [down, up]));
    expect(d.url).to.equal(`${up}/ui/`);
    expect(d.others).to.deep.equal([`${down}/ui/`]);
  });

  it("names every server it tried when none can be reached", async () => {
    const a = `https://127.0.0.1:${await closedPort()}`;
    const b = `https://127.0.0.1:${await closedPort()}`;
    const api = ApiClient.fromKubeconfig(kubeconfig("none", a, [a, b]));
    const err = await api.get("/api").then(() => undefined, (e: Error) => e);
    expect(err?.message).to.include(a).and.to.include(b).and.to.include("cannot reach the api-server");
  });

  it("reads a kubeconfig with one server as before", () => {
    const p = kubeconfig("one", `https://127.0.0.1:${livePort}`, []);
    expect(loadKubeconfig(p).servers).to.deep.equal([`https://127.0.0.1:${livePort}`]);
  });
});
