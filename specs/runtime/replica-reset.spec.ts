import { expect } from "chai";
import { mkdtempSync, mkdirSync, writeFileSync, existsSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resetRefusal, localReplicatedStreams, dropReplicatedCopies, writePeerServers, readPeerServers } from "../../runtime/cluster/replica-reset.ts";

const view = (leader: string | undefined, replicas: [string, boolean, boolean][]) => ({
  stream: "KV_x",
  found: true,
  leader,
  replicas: replicas.map(([name, current, offline]) => ({ name, current, offline })),
});

describe("dropping a restarting server's copies of the buckets", () => {
  it("is allowed only when another server leads and one more replica is current", () => {
    expect(resetRefusal("a", [view("b", [["a", false, true], ["c", true, false]])])).to.equal(undefined);
    expect(resetRefusal("a", [view(undefined, [["a", false, true], ["c", true, false]])])).to.match(/no leader/);
    expect(resetRefusal("a", [view("a", [["b", true, false], ["c", true, false]])])).to.match(/led by this server/);
    expect(resetRefusal("a", [view("b", [["a", false, true], ["c", false, true]])])).to.match(/no other current replica/);
    expect(resetRefusal("a", [view("b", [["a", true, false], ["c", false, false]])])).to.match(/no other current replica/);
    // A stream the cluster no longer has does not stand in the way.
    expect(resetRefusal("a", [{ stream: "KV_gone", found: false, replicas: [] }, view("c", [["b", true, false]])])).to.equal(undefined);
  });

  it("removes replicated streams and their raft groups, and keeps single-replica ones and the meta group", () => {
    const store = mkdtempSync(join(tmpdir(), "flotilla-reset-unit-"));
    try {
      const stream = (name: string, replicas: number) => {
        mkdirSync(join(store, "FLOTILLA", "streams", name), { recursive: true });
        writeFileSync(join(store, "FLOTILLA", "streams", name, "meta.inf"), JSON.stringify({ name, num_replicas: replicas }));
      };
      stream("KV_main", 3);
      stream("KV_local", 1);
      for (const g of ["_meta_", "S-R3F-abc", "C-R3F-def", "S-R1F-ghi"]) mkdirSync(join(store, "SYS", "_js_", g), { recursive: true });
      expect(localReplicatedStreams(store)).to.deep.equal(["KV_main"]);
      dropReplicatedCopies(store, ["KV_main"]);
      expect(existsSync(join(store, "FLOTILLA", "streams", "KV_main"))).to.equal(false);
      expect(existsSync(join(store, "FLOTILLA", "streams", "KV_local"))).to.equal(true);
      expect(readdirSync(join(store, "SYS", "_js_")).sort()).to.deep.equal(["S-R1F-ghi", "_meta_"]);
    } finally {
      rmSync(store, { recursive: true, force: true });
    }
  });

  it("remembers the other servers' client URLs", () => {
    const dir = mkdtempSync(join(tmpdir(), "flotilla-reset-peers-"));
    try {
      expect(readPeerServers(dir)).to.deep.equal([]);
      writePeerServers(dir, ["nats://127.0.0.3:4222", "nats://127.0.0.2:4222", "nats://127.0.0.3:4222"]);
      expect(readPeerServers(dir)).to.deep.equal(["nats://127.0.0.2:4222", "nats://127.0.0.3:4222"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
