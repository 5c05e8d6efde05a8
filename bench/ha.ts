/**
 * Several servers: store writes per second and p99 on one server (R1) and on three (R3), and the
 * control plane's failover after SIGKILL of the server leading the main bucket: time to the first
 * acknowledged write, and time until every leader-elected actor has a leader again.
 *
 * @example
 *   const r = await benchHa({ writes: 2000 });
 *   // node --import tsx bench/ha.ts
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { mkdtempSync, rmSync, mkdirSync, writeFileSync } from "node:fs";
import { generateCa } from "../actors/api-server/certs.ts";
import { ensureRouteCert } from "../runtime/cluster/route-cert.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startNatsServer } from "../runtime/nats-server.ts";
import { startHost, connectNats, pingActors } from "../runtime/host.ts";
import { StoreClient } from "../bus/store-client.ts";
import { storeActor } from "../actors/store/index.ts";
import { subjects } from "../bus/subjects.ts";
import { upServers } from "../cli/up-servers.ts";
import { userUrl } from "../cli/server-run.ts";
import { signalServer } from "../runtime/cluster/processes.ts";
import { streamPlacements } from "../runtime/cluster/jetstream-cluster.ts";
import { readPids } from "../runtime/cluster/server-config.ts";

export interface WriteFigures {
  perSecond: number;
  p99Ms: number;
}

export interface HaBench {
  r1: WriteFigures;
  r3: WriteFigures;
  /** Seconds from SIGKILL of the leading server to the first acknowledged write. */
  firstWriteSeconds: number;
  /** Seconds from SIGKILL to every leader-elected actor leading again. */
  leadersSeconds: number;
}

const LEADER_KINDS = ["scheduler", "node-controller", "replication-controller", "deployment-controller", "endpoints-controller", "garbage-collector", "namespace-controller"];

async function writes(nc: NatsConnection, cluster: string, n: number, inFlight: number, prefix: string): Promise<WriteFigures> {
  const store = new StoreClient(nc, cluster, 5000);
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      for (let i = next++; i < n; i = next++) {
        const s = performance.now();
        await store.create("configmaps", "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `${prefix}-${i}` }, data: { i: String(i) } });
        lat.push(performance.now() - s);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { perSecond: n / seconds, p99Ms: lat[Math.floor(lat.length * 0.99)] ?? 0 };
}

async function until(fn: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function benchHa(o: { writes: number; inFlight?: number }): Promise<HaBench> {
  process.env.FLOTILLA_LOG ??= "warn";
  const inFlight = o.inFlight ?? 8;
  // R1: one nats-server, one store, with TLS on client connections as the three servers have.
  const r1Dir = mkdtempSync(join(tmpdir(), "flotilla-bench-ha-r1-"));
  mkdirSync(join(r1Dir, "pki"), { recursive: true, mode: 0o700 });
  const ca = generateCa();
  writeFileSync(join(r1Dir, "pki", "ca.crt"), ca.certPem);
  writeFileSync(join(r1Dir, "pki", "ca.key"), ca.keyPem, { mode: 0o600 });
  const tls = ensureRouteCert(r1Dir, "127.0.0.1");
  const single = await startNatsServer({ port: 0, dataDir: r1Dir, tls, passwords: { sys: "bench", user: "bench" } });
  const r1Creds = { user: "flotilla", password: "bench", caFile: tls.caFile };
  const host = await startHost({ natsUrl: single.url, credentials: () => r1Creds, cluster: "default", actors: [{ def: storeActor }] });
  const nc1 = await connectNats(single.url, "bench-ha-r1", r1Creds);
  let r1: WriteFigures;
  try {
    r1 = await writes(nc1, "default", o.writes, inFlight, "r1");
  } finally {
    await nc1.close();
    await host.stop();
    await single.stop();
    rmSync(r1Dir, { recursive: true, force: true });
  }
  // R3: three servers on loopback aliases.
  const dir = mkdtempSync(join(tmpdir(), "flotilla-bench-ha-"));
  const c = await upServers({ dataDir: dir, servers: 3, nodes: 0, engine: "simulated", port: 0, natsPort: 0, quiet: true, leaseDurationMs: 3000 });
  const nc = await connectNats(userUrl(c.natsUrl, c.token), "bench-ha-r3", undefined, { tls: { caFile: c.caFile } });
  try {
    const s = subjects("default");
    const main = s.kvStream(s.bucket());
    await until(async () => (await streamPlacements(nc, [main]))[0]?.replicas === 3, 30_000, "R3 buckets");
    const r3 = await writes(nc, "default", o.writes, inFlight, "r3");
    await until(async () => {
      const a = await pingActors(nc, "default", 300);
      return LEADER_KINDS.every((k) => a.some((x) => x.kind === k && x.leader === true));
    }, 30_000, "every leader");
    const leader = (await streamPlacements(nc, [main]))[0]!.leader!;
    const victim = c.servers.find((x) => x.name === leader)!;
    const victimPids = readPids(victim.dir);
    const store = new StoreClient(nc, "default", 1000);
    const killed = performance.now();
    signalServer(victim.dir, "SIGKILL", victim.pgid);
    let i = 0;
    await until(async () => {
      await store.create("configmaps", "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `after-${i++}` } });
      return true;
    }, 60_000, "a write after the kill");
    const firstWriteSeconds = (performance.now() - killed) / 1000;
    await until(async () => {
      const a = await pingActors(nc, "default", 200);
      return LEADER_KINDS.every((k) => a.some((x) => x.kind === k && x.leader === true && !victimPids.includes(x.pid)));
    }, 60_000, "every leader on a survivor");
    const leadersSeconds = (performance.now() - killed) / 1000;
    return { r1, r3, firstWriteSeconds, leadersSeconds };
  } finally {
    await nc.close();
    await c.stop();
    for (const x of c.servers) signalServer(x.dir, "SIGKILL", x.pgid);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // node --import tsx bench/ha.ts [writes] [--out file.json --note "conditions of the run"]
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const writesArg = process.argv[2] && !process.argv[2].startsWith("--") ? Number(process.argv[2]) : 2000;
  const r = await benchHa({ writes: writesArg });
  const out = { command: `node --import tsx bench/ha.ts ${writesArg}`, at: new Date().toISOString(), note: arg("--note"), writes: writesArg, result: r };
  const text = JSON.stringify(out, null, 2);
  console.log(text);
  const file = arg("--out");
  if (file) writeFileSync(file, text + "\n");
  process.exit(0);
}
