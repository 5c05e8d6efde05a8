/**
 * Cluster DNS: A queries/s and p99 latency against the `dns` actor (in a process of its own, as
 * `flotilla actor dns`) versus dnsmasq serving the same names from a hosts file, both on loopback
 * addresses this benchmark picks, driven by dnsperf (installed from Debian's package when missing,
 * as dnsmasq is) with the same queries in flight: once at a paced 20,000 queries/s, the load the
 * goal names, and once at saturation, each for a bounded time.
 *
 * @example
 *   const r = await benchDns({ seconds: 5 });   // { actor: { qps, p99Ms, lost }, pacedActor: { … }, dnsmasq: { … } }
 *   // node --import tsx bench/dns.ts [seconds] [inFlight]
 */
import type { ChildProcess } from "node:child_process";
import type { Service } from "../bus/resources.ts";
import dgram from "node:dgram";
import * as packet from "dns-packet";
import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startNatsServer, freePort } from "../runtime/nats-server.ts";
import { startHost, connectNats } from "../runtime/host.ts";
import { StoreClient } from "../bus/store-client.ts";
import { storeActor } from "../actors/store/index.ts";
import { latencies } from "./lib/hist.ts";
import { ensureDebianPackage, hasBinary } from "./lib/debian.ts";
import { runAsMain } from "./lib/main.ts";

export interface DnsLoad {
  qps: number;
  p99Ms: number;
  /** Queries that got no answer within 1 s. */
  lost: number;
}
export interface DnsBench {
  names: number;
  /** The load client: dnsperf (Debian's package), the tool DNS servers' published figures use. */
  client: string;
  inFlight: number;
  seconds: number;
  /** Saturation: `inFlight` queries outstanding at all times. */
  actor: DnsLoad;
  dnsmasq: DnsLoad;
  /** At a paced rate (queries/s offered, at most `inFlight` outstanding). */
  pacedRate: number;
  pacedActor: DnsLoad;
  pacedDnsmasq: DnsLoad;
}

const BIN = fileURLToPath(new URL("../bin/flotilla.mjs", import.meta.url));

/**
 * With two or more cores and taskset, each server runs on core 1 and dnsperf on core 0, so the
 * client never takes the server's core (on 2 cores, dnsperf's two threads and the server otherwise
 * share them and the scheduler's slices show up as the server's tail). Both servers get the same.
 */
const PIN = cpus().length >= 2 && hasBinary("taskset");
const SERVER_CPU = 1;
const CLIENT_CPU = 0;
const pinned = (cpu: number, bin: string, args: string[]): [string, string[]] => (PIN ? ["taskset", ["-c", String(cpu), bin, ...args]] : [bin, args]);

/**
 * dnsperf against host:port for `seconds`, cycling through A queries for `names`, with at most
 * `inFlight` outstanding and, with `rate`, at most that many sent per second. Every answer's latency
 * comes from its verbose report (written to a file, read afterwards, so parsing costs nothing during
 * the run); a query unanswered within 1 s is lost.
 */
export async function dnsperfLoad(dir: string, host: string, port: number, names: string[], o: { seconds: number; inFlight: number; rate?: number }): Promise<DnsLoad> {
  const data = join(dir, "queries");
  writeFileSync(data, names.map((n) => `${n} A`).join("\n") + "\n");
  const out = join(dir, "dnsperf.out");
  const args = ["-s", host, "-p", String(port), "-d", data, "-l", String(o.seconds), "-q", String(o.inFlight), "-t", "1", "-v", ...(o.rate ? ["-Q", String(o.rate)] : [])];
  const fd = openSync(out, "w");
  const code = await new Promise<number | null>((resolve, reject) => {
    const p = spawn(...pinned(CLIENT_CPU, "dnsperf", args), { stdio: ["ignore", fd, "ignore"] });
    p.once("error", reject);
    p.once("exit", resolve);
  }).finally(() => closeSync(fd));
  const text = readFileSync(out, "utf8");
  rmSync(out, { force: true });
  if (code !== 0) throw new Error(`dnsperf ${args.join(" ")} exited ${code}: ${text.slice(-500)}`);
  const h = latencies();
  for (const m of text.matchAll(/^> \S+ \S+ \S+ ([0-9.]+)$/gm)) h.record(Number(m[1]) * 1000);
  const qps = Number(/Queries per second:\s+([0-9.]+)/.exec(text)?.[1] ?? NaN);
  const lost = Number(/Queries lost:\s+(\d+)/.exec(text)?.[1] ?? NaN);
  if (!Number.isFinite(qps) || h.count === 0) throw new Error(`dnsperf printed no statistics: ${text.slice(-500)}`);
  const r = { qps: Math.round(qps), p99Ms: Math.round(h.percentile(99) * 1000) / 1000, lost };
  h.destroy();
  return r;
}

/** Whether host:port answers one A query for `name` within 1 s. */
async function answers(host: string, port: number, name: string): Promise<boolean> {
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
  return new Promise((resolve) => {
    let open = true;
    const done = (ok: boolean) => {
      if (!open) return;
      open = false;
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 1000);
    sock.on("message", () => done(true));
    sock.on("error", () => done(false));
    sock.send(packet.encode({ type: "query", id: 1, flags: packet.RECURSION_DESIRED, questions: [{ type: "A", name }] }), port, host);
  });
}

async function waitAnswer(host: string, port: number, name: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!(await answers(host, port, name))) {
    if (Date.now() > until) throw new Error(`no answer for ${name} from ${host}:${port}`);
  }
}

const stop = (p: ChildProcess) =>
  new Promise<void>((r) => {
    if (p.exitCode !== null || p.signalCode !== null) return r();
    p.once("exit", () => r());
    p.kill("SIGTERM");
  });

export async function benchDns(o: { names?: number; seconds?: number; inFlight?: number; pacedRate?: number } = {}): Promise<DnsBench> {
  const n = o.names ?? 100;
  const seconds = o.seconds ?? 5;
  const inFlight = o.inFlight ?? 64;
  const pacedRate = o.pacedRate ?? 20_000;
  for (const [bin, pkg] of [["dnsperf", "dnsperf"], ["dnsmasq", "dnsmasq"]] as const) {
    const why = ensureDebianPackage(bin, pkg);
    if (why) throw new Error(why);
  }
  process.env.FLOTILLA_LOG ??= "warn";
  const cluster = "bench-dns";
  const dir = mkdtempSync(join(tmpdir(), "flotilla-bench-dns-"));
  const server = await startNatsServer({ port: 0 });
  const host = await startHost({ natsUrl: server.url, cluster, actors: [{ def: storeActor }] });
  const nc = await connectNats(server.url, "bench-dns");
  const store = new StoreClient(nc, cluster);
  const procs: ChildProcess[] = [];
  try {
    const hosts: string[] = [];
    const names: string[] = [];
    for (let i = 0; i < n; i++) {
      const svc = await store.create<Service>("services", "default", { apiVersion: "v1", kind: "Service", metadata: { name: `svc-${i}` }, spec: { ports: [{ port: 80 }] } } as Service);
      const name = `svc-${i}.default.svc.cluster.local`;
      names.push(name);
      hosts.push(`${svc.spec.clusterIP} ${name}`);
    }
    // The dns actor on 127.0.0.201, dnsmasq on 127.0.0.202: loopback addresses of this machine.
    const actorPort = await freePort("127.0.0.201");
    const actor = spawn(...pinned(SERVER_CPU, process.execPath, [...(process.env.DNS_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.DNS_PROF}`] : []), BIN, "actor", "dns", "--nats", server.url, "--cluster", cluster, "--opt", `listen=127.0.0.201:${actorPort}`, "--opt", "register=false", "--opt", "upstreams=[]"]), {
      stdio: "ignore",
      env: { ...process.env, FLOTILLA_LOG: "error" },
    });
    procs.push(actor);
    const hostsFile = join(dir, "hosts");
    writeFileSync(hostsFile, hosts.join("\n") + "\n");
    const masqPort = await freePort("127.0.0.202");
    const masq = spawn(...pinned(SERVER_CPU, "dnsmasq", ["--keep-in-foreground", "--no-resolv", "--no-hosts", `--addn-hosts=${hostsFile}`, "--listen-address=127.0.0.202", "--bind-interfaces", `--port=${masqPort}`, `--pid-file=${join(dir, "dnsmasq.pid")}`, "--cache-size=10000", "--user=root"]), { stdio: "ignore" });
    procs.push(masq);
    await waitAnswer("127.0.0.201", actorPort, names[n - 1]!, 30_000);
    await waitAnswer("127.0.0.202", masqPort, names[n - 1]!, 10_000);
    // Warm both (long enough for the actor's answer path to be optimised), then measure one after
    // the other with the same client: at the paced rate, then at saturation.
    const load = (host: string, port: number, x: { seconds: number; rate?: number }) => dnsperfLoad(dir, host, port, names, { inFlight, ...x });
    await load("127.0.0.201", actorPort, { seconds: 2 });
    await load("127.0.0.202", masqPort, { seconds: 2 });
    const pacedActor = await load("127.0.0.201", actorPort, { seconds, rate: pacedRate });
    const pacedDnsmasq = await load("127.0.0.202", masqPort, { seconds, rate: pacedRate });
    const saturatedActor = await load("127.0.0.201", actorPort, { seconds });
    const saturatedDnsmasq = await load("127.0.0.202", masqPort, { seconds });
    const client = spawnSync("dnsperf", ["-h"], { encoding: "utf8" }).stdout.match(/Version (\S+)/)?.[1];
    return { names: n, client: `dnsperf ${client ?? "(version unknown)"}${PIN ? `, client on core ${CLIENT_CPU}, server on core ${SERVER_CPU}` : ""}`, inFlight, seconds, actor: saturatedActor, dnsmasq: saturatedDnsmasq, pacedRate, pacedActor, pacedDnsmasq };
  } finally {
    await Promise.all(procs.map(stop));
    await nc.close();
    await host.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

runAsMain(import.meta.url, () => {
  const [sec, f] = process.argv.slice(2).map(Number);
  return benchDns({ seconds: sec || undefined, inFlight: f || undefined });
});
