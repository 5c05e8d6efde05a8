/**
 * A server's JetStream identity: the names of its incarnations, and when a restart may drop its
 * store (only when other servers lead every replicated bucket).
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CatchUp, ShiftDetector, identityForStart, natsNameOf, othersLeadEveryBucket, readIdentity, readPeers, rememberPeers, serverOfNatsName } from "../../runtime/cluster/nats-identity.ts";
import { createLogger } from "../../runtime/logger.ts";

describe("a server's JetStream identity", () => {
  it("names each incarnation after its server, and finds the server again", () => {
    expect(natsNameOf("server-a", 1)).to.equal("server-a");
    expect(natsNameOf("server-a", 3)).to.equal("server-a.3");
    expect(serverOfNatsName("server-a.3")).to.equal("server-a");
    expect(serverOfNatsName("server-a")).to.equal("server-a");
    expect(serverOfNatsName("db.example")).to.equal("db.example");
  });

  it("drops a store only when every bucket is replicated and led by another server", () => {
    const r3 = (stream: string, leader?: string) => ({ stream, replicas: 3, leader });
    expect(othersLeadEveryBucket([r3("KV_a", "server-b"), r3("KV_b", "server-c.2")], "server-a")).to.equal(true);
    expect(othersLeadEveryBucket([], "server-a"), "nothing known").to.equal(false);
    expect(othersLeadEveryBucket([r3("KV_a", "server-b"), r3("KV_b")], "server-a"), "a bucket without a leader").to.equal(false);
    expect(othersLeadEveryBucket([r3("KV_a", "server-a")], "server-a"), "led by this server's own identity").to.equal(false);
    expect(othersLeadEveryBucket([{ stream: "KV_a", replicas: 1, leader: "server-b" }], "server-a"), "one replica: the only copy").to.equal(false);
  });

  it("finds a copy shifted only when it holds more than its leader at two looks in a row", () => {
    const d = new ShiftDetector();
    expect(d.observe("KV_a", 100, 100)).to.equal(false);
    expect(d.observe("KV_a", 90, 100), "behind: catching up").to.equal(false);
    expect(d.observe("KV_a", 105, 100), "ahead once: the leader may have changed between the reads").to.equal(false);
    expect(d.observe("KV_a", 100, 100)).to.equal(false);
    expect(d.observe("KV_a", 105, 100)).to.equal(false);
    expect(d.observe("KV_a", 107, 102)).to.equal(true);
  });

  it("asks a stream's leader to step down only when the new copy has stalled behind it", () => {
    const c = new CatchUp({ stallMs: 5000, nudgeEveryMs: 15_000 });
    // A copy that follows its leader (writes going on) has caught up once it holds what the leader held a look before.
    expect(c.observe("KV_a", 0, 100, 0)).to.equal(false);
    expect(c.observe("KV_a", 100, 120, 1000)).to.equal(false);
    expect(c.caughtUp(["KV_a"])).to.equal(true);
    // A copy stuck at 0 while its leader moves on: nudged after 5 s, then not again for 15 s.
    expect(c.observe("KV_b", 0, 50, 0)).to.equal(false);
    expect(c.observe("KV_b", 0, 60, 4000)).to.equal(false);
    expect(c.observe("KV_b", 0, 70, 5000)).to.equal(true);
    expect(c.observe("KV_b", 0, 80, 9000)).to.equal(false);
    expect(c.observe("KV_b", 0, 90, 20_000)).to.equal(true);
    expect(c.caughtUp(["KV_a", "KV_b"])).to.equal(false);
    // After the nudge it catches up.
    expect(c.observe("KV_b", 90, 95, 21_000)).to.equal(false);
    expect(c.caughtUp(["KV_a", "KV_b"])).to.equal(true);
    // An empty stream's copy is caught up at once.
    expect(c.observe("KV_c", 0, 0, 0)).to.equal(false);
    expect(c.caughtUp(["KV_c"])).to.equal(true);
  });

  describe("at a start", () => {
    let dir: string;
    const log = createLogger("spec");
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "flotilla-identity-"));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("keeps the first identity with no other server to ask, and a store when nobody answers", async () => {
      expect(readIdentity(dir)).to.deep.equal({ incarnation: 1, retiring: [] });
      mkdirSync(join(dir, "nats", "jetstream"), { recursive: true });
      writeFileSync(join(dir, "nats", "jetstream", "marker"), "x");
      const creds = { user: "store", password: "x" };
      expect(await identityForStart({ dir, server: "server-a", cluster: "default", peers: [], credentials: creds, log })).to.deep.equal({ name: "server-a", fresh: false });
      // Nobody listens on the port: the store may be the only copy, so it stays.
      expect(await identityForStart({ dir, server: "server-a", cluster: "default", peers: ["nats://127.0.0.1:1"], credentials: creds, log, timeoutMs: 500 })).to.deep.equal({ name: "server-a", fresh: false });
      expect(existsSync(join(dir, "nats", "jetstream", "marker"))).to.equal(true);
      expect(readIdentity(dir).incarnation).to.equal(1);
    });

    it("remembers the other servers' addresses, ignoring a damaged file", () => {
      rememberPeers(dir, ["nats://127.0.0.3:4222", "nats://127.0.0.2:4222", "nats://127.0.0.2:4222"]);
      expect(readPeers(dir)).to.deep.equal(["nats://127.0.0.2:4222", "nats://127.0.0.3:4222"]);
      writeFileSync(join(dir, "nats", "peers.json"), "{not json");
      expect(readPeers(dir)).to.deep.equal([]);
      writeFileSync(join(dir, "nats", "identity.json"), '{"incarnation":"x"}');
      expect(readIdentity(dir)).to.deep.equal({ incarnation: 1, retiring: [] });
    });
  });
});
