/**
 * Three servers on loopback addresses; SIGKILL of every process of the server leading the main
 * bucket while 2,000 writes go through another server's api-server.
 */
import type { RunningServers } from "../../cli/up-servers.ts";
import { expect } from "chai";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { upServers } from "../../cli/up-servers.ts";
import { signalServer } from "../../runtime/cluster/processes.ts";
import { readPids } from "../../runtime/cluster/server-config.ts";
import { jetstreamReports, metaView, streamPlacements } from "../../runtime/cluster/jetstream-cluster.ts";
import { serverOfNatsName } from "../../runtime/cluster/nats-identity.ts";
import { pingActors } from "../../runtime/host.ts";
import { subjects } from "../../bus/subjects.ts";
import { waitFor } from "../harness/cluster.ts";
import { apiOf, adminConnections, serverOf, printClusterLogsOnFailure } from "../harness/servers.ts";
import type { NatsConnection } from "@nats-io/transport-node";
import { createInbox } from "@nats-io/transport-node";
import { findNatsServer } from "../../runtime/nats-server.ts";
import { askJetStream, askPeerRemove } from "../../bus/cluster-protocol.ts";
import { credentialsOf } from "../../runtime/cluster/credentials.ts";
import { connectNats } from "../../runtime/host.ts";
import { removeServer } from "../../cli/server-run.ts";
import { existingRegistry, listServers } from "../../runtime/cluster/registry.ts";

const WRITES = 2000;
const KILL_AT = 300;
const CONCURRENCY = 8;

describe("three servers on loopback addresses", function () {
  this.timeout(150_000);
  let dir: string;
  let c: RunningServers;

  before(async function () {
    if (!findNatsServer()) this.skip();
    process.env.FLOTILLA_LOG ??= "warn";
    dir = mkdtempSync(join(tmpdir(), "flotilla-ha-"));
    c = await upServers({ dataDir: dir, servers: 3, nodes: 1, engine: "simulated", port: 0, natsPort: 0, quiet: true, leaseDurationMs: 3000 });
  });

  printClusterLogsOnFailure(() => c);

  after(async () => {
    if (c) {
      await c.stop();
      for (const s of c.servers) signalServer(s.dir, "SIGKILL", s.pgid);
    }
    // FLOTILLA_SPEC_KEEP=<dir>: the servers' data dirs (and logs) are copied there for a look.
    if (dir && process.env.FLOTILLA_SPEC_KEEP) cpSync(dir, process.env.FLOTILLA_SPEC_KEEP, { recursive: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("lets one of two updates from one resourceVersion through, when two servers take them at once", async () => {
    // JetStream 2.9.10 checks a clustered write's expected sequence before proposing it, not as it
    // applies it: two such writes in flight together both land unless one store writes the key.
    const [a, b] = [apiOf(c, c.servers[0]!.apiUrl), apiOf(c, c.servers[1]!.apiUrl)];
    try {
      const path = "/api/v1/namespaces/default/configmaps";
      const made = await waitFor(async () => {
        const r = await a.call("POST", path, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "race" }, data: { v: "0" } }).catch(() => undefined);
        return r && (r.status === 201 || r.status === 409) ? r : undefined;
      }, { timeoutMs: 20_000, what: "the ConfigMap" });
      let rv = String((made.body.metadata as { resourceVersion: string } | undefined)?.resourceVersion ?? ((await a.call("GET", `${path}/race`)).body.metadata as { resourceVersion: string }).resourceVersion);
      const both: number[] = [];
      for (let i = 0; i < 40; i++) {
        const put = (api: typeof a, v: string) => api.call("PUT", `${path}/race`, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "race", resourceVersion: rv }, data: { v } });
        const [x, y] = await Promise.all([put(a, `a${i}`), put(b, `b${i}`)]);
        const won = [x, y].filter((r) => r.status === 200);
        if (won.length !== 1) both.push(won.length);
        expect([x.status, y.status].every((st) => st === 200 || st === 409), `${x.status} ${y.status}`).to.equal(true);
        rv = won.length ? ((won.at(-1)!.body.metadata as { resourceVersion: string }).resourceVersion) : rv;
        if (won.length > 1) rv = ((await a.call("GET", `${path}/race`)).body.metadata as { resourceVersion: string }).resourceVersion;
      }
      expect(both, "rounds where not exactly one update was acknowledged").to.deep.equal([]);
    } finally {
      a.close();
      b.close();
    }
  });

  it("keeps every acknowledged write, re-elects every leader on the others and lets the killed server catch up", async () => {
    const s = subjects("default");
    const mainStream = s.kvStream(s.bucket());
    const streams = [s.bucket(), s.eventsBucket(), s.leasesBucket(), s.serversBucket()].map((b) => s.kvStream(b));
    const admin = await adminConnections(c);
    try {
      // Every bucket is replicated on the three servers.
      await waitFor(async () => (await streamPlacements(admin.nc, streams)).every((p) => p.replicas === 3 && p.leader), { timeoutMs: 20_000, what: "R3 buckets" });
      const leaderName = (await streamPlacements(admin.nc, [mainStream]))[0]!.leader!;
      const victim = c.servers.find((x) => x.name === leaderName)!;
      const writer = c.servers.find((x) => x !== victim)!;
      const survivors = c.servers.filter((x) => x !== victim).map((x) => x.name);
      const api = apiOf(c, writer.apiUrl);

      // A Deployment whose pods run on the node in this process (connected to every server).
      const dep = {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web", namespace: "default" },
        spec: { replicas: 3, selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "busybox" }] } } },
      };
      expect((await api.call("POST", "/apis/apps/v1/namespaces/default/deployments", dep)).status).to.equal(201);
      const podsOf = async () => {
        const r = await api.call("GET", "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb");
        return (r.body.items as { metadata: { uid: string; deletionTimestamp?: string }; status?: { phase?: string } }[]) ?? [];
      };
      const before = await waitFor(async () => {
        const p = await podsOf();
        return p.length === 3 && p.every((x) => x.status?.phase === "Running") ? p : undefined;
      }, { timeoutMs: 30_000, what: "3 running pods" });

      // 2,000 writes through the writer's api-server; the victim is killed after the first 300 acks.
      const acked: string[] = [];
      const ackTimes: number[] = [];
      let failed = 0;
      let next = 0;
      let killedAt = 0;
      const kill = () => {
        killedAt = Date.now();
        signalServer(victim.dir, "SIGKILL", victim.pgid);
      };
      const worker = async () => {
        for (;;) {
          const i = next++;
          if (i >= WRITES) return;
          const name = `w-${i}`;
          // As a client does: a write that fails during the failover is sent again (a 409 means an
          // earlier attempt landed after all), for up to 20 s.
          for (let attempt = 0; attempt < 100; attempt++) {
            let status = 0;
            try {
              status = (await api.call("POST", "/api/v1/namespaces/default/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { i: String(i) } })).status;
            } catch {
              status = 0;
            }
            if (status === 201 || (status === 409 && attempt > 0)) {
              acked.push(name);
              ackTimes.push(Date.now());
              if (acked.length === KILL_AT) kill();
              break;
            }
            failed++;
            await new Promise((r) => setTimeout(r, 200));
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      expect(killedAt, "the victim was killed during the writes").to.be.greaterThan(0);

      // Writes resumed: within 30 s, far from minutes. How fast is a figure of `npm run bench`
      // (bench/ha.ts, first write after the kill), not of a timed spec: on this 2-core machine it
      // varied from 4 to 13 s between runs of this spec (bench/measured/ha-first-write-after-kill-2026-12-03.txt).
      const firstAfter = ackTimes.find((t) => t > killedAt + 50);
      expect(firstAfter, "a write acknowledged after the kill").to.not.equal(undefined);
      if (process.env.FLOTILLA_SPEC_TIMES) process.stderr.write(`first write after the kill: ${firstAfter! - killedAt} ms\n`);
      expect(firstAfter! - killedAt).to.be.lessThan(30_000);
      expect(acked.length).to.be.greaterThan(WRITES / 2);

      // Every acknowledged write is there.
      const listed = await waitFor(async () => {
        const r = await api.call("GET", "/api/v1/namespaces/default/configmaps", undefined);
        return r.status === 200 ? new Set((r.body.items as { metadata: { name: string } }[]).map((x) => x.metadata.name)) : undefined;
      }, { what: "configmaps list" });
      const missing = acked.filter((n) => !listed.has(n));
      expect(missing, `acknowledged writes missing (${failed} writes failed)`).to.deep.equal([]);

      // Every leader is on a survivor: JetStream meta, every bucket, every leader-elected actor.
      await waitFor(async () => {
        const meta = metaView(await jetstreamReports(admin.sys, 300));
        return meta.leader && survivors.includes(meta.leader);
      }, { timeoutMs: 20_000, what: "meta leader on a survivor" });
      await waitFor(async () => (await streamPlacements(admin.nc, streams)).every((p) => p.leader && survivors.includes(p.leader)), { timeoutMs: 20_000, what: "bucket leaders on survivors" });
      const kinds = ["scheduler", "node-controller", "replication-controller", "deployment-controller", "endpoints-controller", "garbage-collector", "namespace-controller"];
      await waitFor(async () => {
        const actors = await pingActors(admin.nc, "default", 300);
        return kinds.every((k) => actors.some((a) => a.kind === k && a.leader === true && survivors.includes(serverOf(c, a.pid) ?? "")));
      }, { timeoutMs: 20_000, what: "every actor led from a survivor" });

      // The Deployment settles at its 3 pods: the same ones (the node did not fence), no extras.
      const after = await waitFor(async () => {
        const p = (await podsOf()).filter((x) => !x.metadata.deletionTimestamp);
        return p.length === 3 && p.every((x) => x.status?.phase === "Running") ? p : undefined;
      }, { timeoutMs: 45_000, what: "3 running pods after the kill" });
      expect(after.map((p) => p.metadata.uid).sort()).to.deep.equal(before.map((p) => p.metadata.uid).sort());
      expect(readPids(victim.dir).every((pid) => !isAlive(pid)), "every process of the victim is gone").to.equal(true);

      // The victim comes back, catches up, and every bucket has 3 current replicas again.
      await c.restart(victim.name);
      await waitFor(
        async () =>
          (await streamPlacements(admin.nc, streams)).every((p) => p.replicas === 3 && p.leader && p.followers.length === 2 && p.followers.every((f) => f.current && !f.offline)),
        { timeoutMs: 30_000, intervalMs: 250, what: "3 current replicas of every bucket" },
      );
      api.close();
    } finally {
      await admin.close();
    }
  });

  it("lets only the node controller into the system account, which answers for the NATS cluster", async () => {
    const admin = await adminConnections(c);
    try {
      // Every connection in the system account, on every server (the spec's own excepted).
      const inSys = await waitFor(async () => {
        const names = await systemAccountClients(admin.sys);
        return names.length > 0 ? names : undefined;
      }, { timeoutMs: 15_000, what: "system-account connections" });
      expect(inSys.every((n) => n.startsWith("node-controller-sys/")), inSys.join(", ")).to.equal(true);

      // What `flotilla status` shows comes from the node controller, over the admin user.
      const reports = await askJetStream(admin.nc, "default", 400);
      expect(reports.ok, JSON.stringify(reports)).to.equal(true);
      if (!reports.ok) return;
      const meta = metaView(reports.value);
      expect(meta.peers.map(serverOfNatsName).sort()).to.deep.equal(c.servers.map((x) => x.name).sort());
      expect(meta.leader).to.be.a("string");

      // A controller's identity may not ask to remove a server.
      const control = await connectNats(c.natsUrl, "spec-control", credentialsOf(c.token, { role: "control" }, c.caFile));
      try {
        const r = await askPeerRemove(control, "default", c.servers[0]!.name);
        expect(r.ok).to.equal(false);
      } finally {
        await control.close().catch(() => undefined);
      }
    } finally {
      await admin.close();
    }
  });

  it("removes a lost server from the JetStream meta group with `flotilla server remove`", async () => {
    const admin = await adminConnections(c);
    try {
      const lost = c.servers[c.servers.length - 1]!;
      signalServer(lost.dir, "SIGKILL", lost.pgid);
      await removeServer(dir, lost.name);
      await waitFor(async () => {
        const r = await askJetStream(admin.nc, "default", 300);
        return r.ok && !metaView(r.value).peers.some((p) => serverOfNatsName(p) === lost.name) && metaView(r.value).leader ? true : undefined;
      }, { timeoutMs: 20_000, what: "the lost server gone from the meta group" });
      const names = await waitFor(async () => listServers(await existingRegistry(admin.nc, "default")).then((l) => (l.length ? l.map((x) => x.name) : undefined)), { timeoutMs: 30_000, what: "the servers' registry" });
      expect(names.sort()).to.deep.equal(c.servers.filter((x) => x !== lost).map((x) => x.name).sort());
      // The two servers left go on taking writes.
      const api = apiOf(c, c.servers[0]!.apiUrl);
      try {
        await waitFor(async () => (await api.call("POST", "/api/v1/namespaces/default/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `after-remove-${Date.now()}` } }).catch(() => ({ status: 0 }))).status === 201, { timeoutMs: 30_000, what: "a write after the removal" });
      } finally {
        api.close();
      }
    } finally {
      await admin.close();
    }
  });
});

/** The names of every client connection in the system account, on every server (the spec's own excepted). */
async function systemAccountClients(sys: NatsConnection): Promise<string[]> {
  const names: string[] = [];
  const inbox = createInbox();
  const sub = sys.subscribe(inbox, {
    callback: (_e, m) => {
      const r = JSON.parse(new TextDecoder().decode(m.data)) as { data?: { connections?: { name?: string; account?: string }[] } };
      for (const x of r.data?.connections ?? []) if (x.name !== "spec-sys") names.push(x.name ?? "(no name)");
    },
  });
  sys.publish(subjects().sysConnz(), new TextEncoder().encode(JSON.stringify({ acc: "SYS", limit: 1024 })), { reply: inbox });
  await new Promise((r) => setTimeout(r, 500));
  sub.unsubscribe();
  return names;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
