/**
 * The bootstrap data a joining server fetches (CA, tokens and the Secrets' encryption keys) is in
 * the store, sealed with the join token, and the encryption configuration follows an edit made on
 * any server: a key rotated on one server reaches every server.
 */
import type { RunningServer } from "../../runtime/cluster/server.ts";
import { expect } from "chai";
import { mkdtempSync, rmSync, readFileSync, writeFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { runServer } from "../../runtime/cluster/server.ts";
import { connectNats } from "../../runtime/host.ts";
import { findNatsServer, freePorts } from "../../runtime/nats-server.ts";
import { newJoinToken } from "../../runtime/cluster/token.ts";
import { credentialsOf } from "../../runtime/cluster/credentials.ts";
import { openRegistry, BOOTSTRAP_KEY } from "../../runtime/cluster/registry.ts";
import { open, seal, writeLocal } from "../../runtime/cluster/bootstrap.ts";
import { newEncryptionConfig } from "../../bus/encryption.ts";
import { runCluster } from "../harness/run.ts";
import { waitFor } from "../harness/cluster.ts";

describe("a server's bootstrap data", function () {
  this.timeout(90_000);
  let dir: string;
  let server: RunningServer;
  let token: string;
  let cluster: string;

  before(async function () {
    if (!findNatsServer()) this.skip();
    process.env.FLOTILLA_LOG ??= "warn";
    dir = mkdtempSync(join(tmpdir(), "flotilla-bootstrap-"));
    cluster = runCluster("boot");
    token = newJoinToken();
    const [nats, route, leaf, api] = (await freePorts("127.0.0.1", 4)) as [number, number, number, number];
    server = await runServer({ dir: join(dir, "server"), token, init: true, config: { name: "boot-a", address: "127.0.0.1", cluster, ports: { nats, route, leaf, api }, peers: [] } });
  });

  after(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The bootstrap data as stored, opened with the join token. */
  const stored = async () => {
    const nc = await connectNats(server.natsUrl, "spec-boot", credentialsOf(token, { role: "store" }, join(dir, "server", "pki", "ca.crt")));
    try {
      const e = (await (await openRegistry(nc, cluster)).get(BOOTSTRAP_KEY))!;
      return { data: open(token, e.string()) };
    } finally {
      await nc.close();
    }
  };

  it("holds the encryption configuration, which a joining server writes 0600 into its data dir", async () => {
    const local = readFileSync(join(dir, "server", "encryption-config.yaml"), "utf8");
    const { data } = await stored();
    expect(data.encryptionConfig).to.equal(local);
    // What `flotilla server --join` does with the fetched data.
    const joining = join(dir, "joining");
    writeLocal(joining, data);
    expect(readFileSync(join(joining, "encryption-config.yaml"), "utf8")).to.equal(local);
    expect(statSync(join(joining, "encryption-config.yaml")).mode & 0o777).to.equal(0o600);
  });

  it("stores a key added on this server, and writes here a key added on another", async () => {
    const path = join(dir, "server", "encryption-config.yaml");
    // An operator adds a key here: every server gets it through the store.
    const edited = stringify(newEncryptionConfig());
    writeFileSync(path, edited, { mode: 0o600 });
    await waitFor(async () => ((await stored()).data.encryptionConfig === edited ? true : undefined), { timeoutMs: 15_000, what: "the edit stored" });

    // Another server stores an edit: it is written here.
    const elsewhere = stringify(newEncryptionConfig());
    const nc = await connectNats(server.natsUrl, "spec-boot-edit", credentialsOf(token, { role: "store" }, join(dir, "server", "pki", "ca.crt")));
    try {
      const kv = await openRegistry(nc, cluster);
      const e = (await kv.get(BOOTSTRAP_KEY))!;
      await kv.update(BOOTSTRAP_KEY, seal(token, { ...open(token, e.string()), encryptionConfig: elsewhere }), e.revision);
    } finally {
      await nc.close();
    }
    await waitFor(async () => (readFileSync(path, "utf8") === elsewhere ? true : undefined), { timeoutMs: 15_000, what: "the other server's edit written here" });
  });
});
