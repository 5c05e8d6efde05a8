/**
 * A server killed while writes race on the same objects comes back with a copy of the buckets
 * that matches the leader's, message for message (see runtime/cluster/replica-reset.ts: nats-server
 * 2.9 replays failed compare-and-swap writes into a shifted copy when it restarts).
 */
import type { RunningServers } from "../../cli/up-servers.ts";
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { upServers } from "../../cli/up-servers.ts";
import { signalServer } from "../../runtime/cluster/processes.ts";
import { localStreamStates, streamPlacements } from "../../runtime/cluster/jetstream-cluster.ts";
import { subjects } from "../../bus/subjects.ts";
import { waitFor } from "../harness/cluster.ts";
import { apiOf, adminConnections } from "../harness/servers.ts";
import { findNatsServer } from "../../runtime/nats-server.ts";

const KEYS = 6;
const CLIENTS = 12;

describe("a server killed during racing writes", function () {
  this.timeout(150_000);
  let dir: string;
  let c: RunningServers;

  before(async function () {
    if (!findNatsServer()) this.skip();
    process.env.FLOTILLA_LOG ??= "warn";
    dir = mkdtempSync(join(tmpdir(), "flotilla-reset-"));
    c = await upServers({ dataDir: dir, servers: 3, nodes: 0, engine: "simulated", port: 0, natsPort: 0, quiet: true, leaseDurationMs: 3000 });
  });

  after(async () => {
    if (c) {
      await c.stop();
      for (const s of c.servers) signalServer(s.dir, "SIGKILL", s.pgid);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("comes back with the same copy of every bucket as the other servers", async () => {
    const s = subjects("default");
    const main = s.kvStream(s.bucket());
    const streams = [s.bucket(), s.eventsBucket(), s.leasesBucket(), s.serversBucket()].map((b) => s.kvStream(b));
    const admin = await adminConnections(c);
    const apis = c.servers.map((x) => apiOf(c, x.apiUrl, 3000));
    try {
      await waitFor(async () => (await streamPlacements(admin.nc, streams)).every((p) => p.replicas === 3 && p.leader), { timeoutMs: 20_000, what: "R3 buckets" });
      for (let k = 0; k < KEYS; k++) {
        expect((await apis[0]!.call("POST", "/api/v1/namespaces/default/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `race-${k}` }, data: { n: "0" } })).status).to.equal(201);
      }
      // Clients on every server patch the same few objects at once: the store's compare-and-swap
      // writes race in JetStream, and some of them fail there (and are retried by the store).
      let stop = false;
      let patched = 0;
      const client = async (i: number) => {
        while (!stop) {
          const api = apis[i % apis.length]!;
          const k = Math.floor(Math.random() * KEYS);
          const r = await api.call("PATCH", `/api/v1/namespaces/default/configmaps/race-${k}`, { data: { [`c${i}`]: String(patched) } }, "application/merge-patch+json").catch(() => undefined);
          if (r?.status === 200) patched++;
          else await new Promise((res) => setTimeout(res, 100));
        }
      };
      const clients = Array.from({ length: CLIENTS }, (_, i) => client(i));
      await waitFor(() => patched > 300, { timeoutMs: 60_000, what: "300 patches" });

      const leader = (await streamPlacements(admin.nc, [main]))[0]!.leader!;
      const victim = c.servers.find((x) => x.name === leader)!;
      signalServer(victim.dir, "SIGKILL", victim.pgid);
      const atKill = patched;
      await waitFor(() => patched > atKill + 200, { timeoutMs: 60_000, what: "patches after the kill" });
      await c.restart(victim.name);
      await waitFor(
        async () => (await streamPlacements(admin.nc, streams)).every((p) => p.replicas === 3 && p.leader && p.followers.length === 2 && p.followers.every((f) => f.current && !f.offline)),
        { timeoutMs: 45_000, intervalMs: 250, what: "3 current replicas of every bucket" },
      );
      const atRestart = patched;
      await waitFor(() => patched > atRestart + 200, { timeoutMs: 60_000, what: "patches after the restart" });
      stop = true;
      await Promise.all(clients);

      // Once writes stop, every server holds the same messages at the same sequences.
      let copies: Awaited<ReturnType<typeof localStreamStates>> = [];
      const agree = async () => {
        copies = await localStreamStates(admin.sys, 500);
        return streams.every((st) => {
          const of = copies.filter((x) => x.stream === st);
          return of.length === 3 && new Set(of.map((x) => `${x.messages}/${x.firstSeq}/${x.lastSeq}`)).size === 1;
        });
      };
      const ok = await waitFor(agree, { timeoutMs: 20_000, intervalMs: 1000, what: "the copies agree" }).catch(() => false);
      expect(ok, `every server's copy of every bucket is the same: ${JSON.stringify(copies.filter((x) => x.stream === main))}`).to.equal(true);
    } finally {
      for (const a of apis) a.close();
      await admin.close();
    }
  });
});
