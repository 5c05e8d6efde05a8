/**
 * A server's JetStream identity: the names of its incarnations, and when a restart may drop its
 * store (only when other servers lead every replicated bucket).
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CatchUp, CopyCheck, copyFault, identityForStart, rebuildMode, natsNameOf, othersLeadEveryBucket, readIdentity, readPeers, rememberPeers, serverOfNatsName } from "../../runtime/cluster/nats-identity.ts";
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

  it("calls a copy damaged only when it passes its leader at either end, never when it is merely behind", () => {
    const r = (first: number, last: number) => ({ first, last });
    expect(copyFault(r(1, 100), r(1, 100)), "equal").to.equal(undefined);
    expect(copyFault(r(1, 90), r(1, 100)), "behind: catching up").to.equal(undefined);
    expect(copyFault(r(0, 0), r(1, 100)), "empty: a new copy before its catch-up").to.equal(undefined);
    expect(copyFault(r(1, 90), r(5, 100)), "behind, old keys rewritten since").to.equal(undefined);
    expect(copyFault(r(1, 105), r(1, 100)), "shifted").to.equal("ahead");
    // The 2026-12-03 CI run: the restarted server's copy held 273..589 while its leader held 1..589.
    expect(copyFault(r(273, 589), r(1, 589))).to.equal("missing-oldest");
    expect(copyFault(r(273, 580), r(1, 589)), "cut and behind").to.equal("missing-oldest");
    expect(copyFault(r(1, 589), r(273, 589)), "seen from a sound copy while the cut one leads").to.equal("leader-missing-oldest");
    expect(copyFault(r(1, 580), r(273, 589)), "behind: the leader may have moved its front since").to.equal(undefined);
    expect(copyFault(r(1, 100), r(101, 100)), "a leader purged empty holds nothing to miss").to.equal(undefined);
    // A bucket with a maximum age expires its front on each server's own timer.
    expect(copyFault(r(40, 100), r(30, 100), { front: false })).to.equal(undefined);
    expect(copyFault(r(40, 103), r(30, 100), { front: false }), "shifted all the same").to.equal("ahead");
  });

  it("confirms a fault only when the same one shows at two looks in a row", () => {
    const d = new CopyCheck();
    const r = (first: number, last: number) => ({ first, last });
    expect(d.observe("KV_a", r(1, 100), r(1, 100))).to.equal(undefined);
    expect(d.observe("KV_a", r(1, 105), r(1, 100)), "ahead once: the leader may have changed between the reads").to.equal(undefined);
    expect(d.observe("KV_a", r(1, 100), r(1, 100))).to.equal(undefined);
    expect(d.observe("KV_a", r(1, 105), r(1, 100))).to.equal(undefined);
    expect(d.observe("KV_a", r(9, 110), r(1, 110)), "another fault starts a new count").to.equal(undefined);
    expect(d.observe("KV_a", r(9, 112), r(1, 112))).to.equal("missing-oldest");
    expect(d.observe("KV_b", r(1, 107), r(1, 102))).to.equal(undefined);
    d.reset();
    expect(d.observe("KV_b", r(1, 107), r(1, 102)), "counted afresh after a reset").to.equal(undefined);
    expect(d.observe("KV_b", r(1, 109), r(1, 104))).to.equal("ahead");
  });

  it("rebuilds damaged copies by default, at every start with FLOTILLA_REBUILD_COPIES=1, and never with 0", () => {
    expect(rebuildMode(undefined)).to.equal("damaged");
    expect(rebuildMode("")).to.equal("damaged");
    expect(rebuildMode("1")).to.equal("always");
    expect(rebuildMode("0")).to.equal("never");
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
