/**
 * A shifted copy found and rebuilt. nats-server 2.9.10 keeps compare-and-swap writes that JetStream
 * refused in a stream's log; a server that replays such writes at a restart comes back with a copy
 * ahead of its leader (runtime/cluster/nats-identity.ts). Here writers race on a few keys straight
 * to JetStream (as no Flotilla store does: its single writer checks first), and a follower of the
 * main bucket is SIGKILLed in the middle and restarted. With the servers' defaults, its copy watch
 * finds the copy damaged, and the server rebuilds its copies under a new JetStream identity: the
 * three copies end up holding the same sequences.
 */
import type { RunningServers } from "../../cli/up-servers.ts";
import { expect } from "chai";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kvm } from "@nats-io/kv";
import { upServers } from "../../cli/up-servers.ts";
import { signalServer } from "../../runtime/cluster/processes.ts";
import { jetstreamReports, localStreamStates, metaView, streamPlacements } from "../../runtime/cluster/jetstream-cluster.ts";
import { serverOfNatsName, REBUILD_ENV } from "../../runtime/cluster/nats-identity.ts";
import { subjects } from "../../bus/subjects.ts";
import { findNatsServer } from "../../runtime/nats-server.ts";
import { waitFor } from "../harness/cluster.ts";
import { adminConnections, printClusterLogsOnFailure } from "../harness/servers.ts";
import { copiesAgree } from "../chaos/checker.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a server restarted after refused writes", function () {
  this.timeout(240_000);
  let dir: string;
  let c: RunningServers;
  const before_ = process.env[REBUILD_ENV];

  before(async function () {
    if (!findNatsServer()) this.skip();
    process.env.FLOTILLA_LOG ??= "warn";
    // The servers are processes of their own, with this environment: the default (rebuild a
    // damaged copy), whatever the caller's shell says.
    delete process.env[REBUILD_ENV];
    dir = mkdtempSync(join(tmpdir(), "flotilla-shift-"));
    c = await upServers({ dataDir: dir, servers: 3, nodes: 0, engine: "simulated", port: 0, natsPort: 0, quiet: true, leaseDurationMs: 3000 });
  });

  printClusterLogsOnFailure(() => c);

  after(async () => {
    if (before_ === undefined) delete process.env[REBUILD_ENV];
    else process.env[REBUILD_ENV] = before_;
    if (c) {
      await c.stop();
      for (const s of c.servers) signalServer(s.dir, "SIGKILL", s.pgid);
    }
    // FLOTILLA_SPEC_KEEP=<dir>: the servers' data dirs (and logs) are copied there for a look.
    if (dir && process.env.FLOTILLA_SPEC_KEEP) cpSync(dir, process.env.FLOTILLA_SPEC_KEEP, { recursive: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("finds the restarted copy damaged, rebuilds it under a new JetStream identity, and the copies agree", async () => {
    const s = subjects("default");
    const main = s.kvStream(s.bucket());
    const admin = await adminConnections(c);
    try {
      await waitFor(async () => ((await streamPlacements(admin.nc, [main]))[0]?.followers.length === 2 ? true : undefined), { timeoutMs: 30_000, what: "an R3 main bucket" });
      const kv = await new Kvm(admin.nc).open(s.bucket());
      let rebuilt: string | undefined;
      {
        const leader = serverOfNatsName((await streamPlacements(admin.nc, [main]))[0]!.leader!);
        const victim = c.servers.find((x) => x.name !== leader)!;
        // Racing compare-and-swap writes on ten keys no resource uses: many are refused when applied.
        let stop = false;
        let refused = 0;
        const writer = async () => {
          while (!stop) {
            const key = `spec-shift.k${Math.floor(Math.random() * 10)}`;
            try {
              const e = await kv.get(key);
              if (!e) await kv.create(key, "x");
              else await kv.update(key, "x", e.revision);
            } catch {
              refused++;
            }
          }
        };
        const writers = Array.from({ length: 8 }, writer);
        await sleep(3000);
        signalServer(victim.dir, "SIGKILL", victim.pgid);
        await sleep(1000);
        stop = true;
        await Promise.all(writers);
        expect(refused, "writes refused while racing").to.be.greaterThan(0);
        await c.restart(victim.name);
        // More writes: the restarted copy applies them at its own (shifted) sequences, and its
        // server finds it ahead of the leader's (two looks 5 s apart), hands over the buckets it
        // leads, and rebuilds once the others have led them for a few seconds.
        rebuilt = await waitFor(
          async () => {
            await kv.put(`spec-shift.after`, "y").catch(() => undefined);
            const peers = metaView(await jetstreamReports(admin.sys, 300)).peers;
            return peers.find((p) => serverOfNatsName(p) === victim.name && p !== victim.name);
          },
          { timeoutMs: 60_000, intervalMs: 500, what: "a rebuild" },
        ).catch(() => undefined);
      }
      expect(rebuilt, "the restarted server took a new identity").to.be.a("string");
      let copies: Awaited<ReturnType<typeof localStreamStates>> = [];
      await waitFor(async () => {
        await kv.put("spec-shift.last", "z").catch(() => undefined);
        copies = (await localStreamStates(admin.sys, 500)).filter((x) => x.stream === main);
        return copiesAgree(copies, 3) && copies.some((x) => x.server === rebuilt) ? true : undefined;
      }, { timeoutMs: 60_000, intervalMs: 1000, what: "the three copies agree" }).catch((e) => {
        throw new Error(`${(e as Error).message}: ${JSON.stringify(copies)}`);
      });
      // The old identity is gone from the meta group.
      await waitFor(async () => (!metaView(await jetstreamReports(admin.sys, 300)).peers.includes(serverOfNatsName(rebuilt!)) ? true : undefined), { timeoutMs: 30_000, what: "the old identity removed" });
    } finally {
      await admin.close();
    }
  });
});
