/** An old single-server data dir (`flotilla up`) upgraded to three servers (`flotilla up --servers 3`). */
import type { RunningServers } from "../../cli/up-servers.ts";
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { up } from "../../cli/up.ts";
import { upServers } from "../../cli/up-servers.ts";
import { signalServer } from "../../runtime/cluster/processes.ts";
import { streamPlacements } from "../../runtime/cluster/jetstream-cluster.ts";
import { subjects } from "../../bus/subjects.ts";
import { waitFor } from "../harness/cluster.ts";
import { apiOf, adminConnections, printClusterLogsOnFailure } from "../harness/servers.ts";
import { findNatsServer } from "../../runtime/nats-server.ts";

describe("upgrading a single-server data dir to three servers", function () {
  this.timeout(120_000);
  let dir: string;
  let c: RunningServers | undefined;

  before(function () {
    if (!findNatsServer()) this.skip();
    process.env.FLOTILLA_LOG ??= "warn";
    dir = mkdtempSync(join(tmpdir(), "flotilla-upgrade-"));
  });

  printClusterLogsOnFailure(() => c);

  after(async () => {
    if (c) {
      await c.stop();
      for (const s of c.servers) signalServer(s.dir, "SIGKILL", s.pgid);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("keeps every object, the CA and the tokens, with every bucket on three replicas", async () => {
    const single = await up({ dataDir: dir, nodes: 0, engine: "simulated", port: 0, quiet: true });
    const names = Array.from({ length: 20 }, (_, i) => `kept-${i}`);
    const { StoreClient } = await import("../../bus/store-client.ts");
    const { connectNats } = await import("../../runtime/host.ts");
    const nc = await connectNats(single.natsUrl, "spec-upgrade", single.admin);
    const store = new StoreClient(nc, "default");
    for (const name of names) await store.create("configmaps", "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { name } });
    await nc.close();
    const caBefore = readFileSync(join(dir, "pki", "ca.crt"), "utf8");
    const adminBefore = single.adminToken;
    await single.stop();

    c = await upServers({ dataDir: dir, servers: 3, nodes: 0, engine: "simulated", port: 0, natsPort: 0, quiet: true });
    expect(existsSync(join(dir, "nats.single-server")), "the old NATS dir is kept aside").to.equal(true);
    expect(readFileSync(join(c.servers[1]!.dir, "pki", "ca.crt"), "utf8")).to.equal(caBefore);
    expect(c.adminToken).to.equal(adminBefore);
    // Through the api-server of the third server, with the old kubeconfig's CA and token.
    const api = apiOf(c, c.servers[2]!.apiUrl);
    // The objects come back once the first server has imported its dump; until then a server may
    // already answer with what it has.
    let listed: { metadata: { name: string }; data: { name: string } }[] = [];
    await waitFor(async () => {
      const r = await api.call("GET", "/api/v1/namespaces/default/configmaps");
      if (r.status === 200) listed = r.body.items as typeof listed;
      return names.every((n) => listed.some((x) => x.metadata.name === n));
    }, { timeoutMs: 30_000, what: "the old objects on the three-server cluster" }).catch(() => undefined);
    for (const name of names) expect(listed.find((x) => x.metadata.name === name)?.data.name, name).to.equal(name);
    api.close();
    const admin = await adminConnections(c);
    try {
      const s = subjects("default");
      await waitFor(async () => (await streamPlacements(admin.nc, [s.bucket(), s.leasesBucket(), s.eventsBucket()].map((b) => s.kvStream(b)))).every((p) => p.replicas === 3), {
        timeoutMs: 20_000,
        what: "R3 buckets",
      });
    } finally {
      await admin.close();
    }
  });
});
