/** Routes between servers run over TLS: only servers with a route certificate from the cluster's CA join. */
import type { NatsServer } from "../../runtime/nats-server.ts";
import { expect } from "chai";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNatsServer, freePorts, findNatsServer } from "../../runtime/nats-server.ts";
import { ensureRouteCert } from "../../runtime/cluster/route-cert.ts";
import { generateCa } from "../../actors/api-server/certs.ts";
import { waitFor } from "../harness/cluster.ts";

const routes = async (s: NatsServer): Promise<number> => ((await (await fetch(`${s.monitorUrl}/routez`)).json()) as { num_routes: number }).num_routes;

describe("routes between servers", function () {
  this.timeout(60_000);
  let root: string;
  const servers: NatsServer[] = [];

  before(function () {
    if (!findNatsServer()) this.skip();
    root = mkdtempSync(join(tmpdir(), "flotilla-route-tls-"));
  });

  after(async () => {
    for (const s of servers) await s.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("connect with certificates of the cluster CA and refuse a server whose certificate another CA issued", async () => {
    const ours = generateCa();
    const theirs = generateCa();
    const dirFor = (name: string, ca: { certPem: string; keyPem: string }) => {
      const dir = join(root, name);
      mkdirSync(join(dir, "pki"), { recursive: true, mode: 0o700 });
      writeFileSync(join(dir, "pki", "ca.crt"), ca.certPem);
      writeFileSync(join(dir, "pki", "ca.key"), ca.keyPem, { mode: 0o600 });
      return dir;
    };
    const [a, b, c] = await freePorts("127.0.0.1", 3);
    const all = [a, b, c].map((p) => `127.0.0.1:${p}`);
    const start = async (name: string, ca: { certPem: string; keyPem: string }, listen: string) => {
      const dir = dirFor(name, ca);
      const s = await startNatsServer({ dataDir: dir, serverName: name, monitorPort: 0, quiet: true, cluster: { name: "spec", listen, routes: all, routePassword: "same-password-everywhere", tls: ensureRouteCert(dir, "127.0.0.1") } });
      servers.push(s);
      return s;
    };
    const sa = await start("a", ours, all[0]!);
    const sb = await start("b", ours, all[1]!);
    await waitFor(async () => (await routes(sa)) === 1 && (await routes(sb)) === 1, { timeoutMs: 20_000, what: "a route between a and b" });
    // The right route password but a certificate from another CA: never a route.
    const sc = await start("c", theirs, all[2]!);
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      expect(await routes(sc), "routes of the stranger").to.equal(0);
      expect(await routes(sa), "routes of a").to.equal(1);
      await new Promise((r) => setTimeout(r, 200));
    }
  });
});
