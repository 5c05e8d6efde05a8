/**
 * Cluster DNS: A queries/s and p99 latency against the `dns` actor (in a process of its own, as
 * `flotilla actor dns`) versus dnsmasq serving the same names from a hosts file, both on loopback
 * addresses this benchmark picks, driven by the same UDP client with the same number of queries in
 * flight, for a bounded count and time.
 *
 * @example
 *   const r = await benchDns({ queries: 20_000 });   // { actor: { qps, p99Ms, lost }, dnsmasq: { … } }
 *   // node --import tsx bench/dns.ts [queries] [inFlight]
 */
import type { ChildProcess } from "node:child_process";
import type { Service } from "../bus/resources.ts";
import dgram from "node:dgram";
import * as packet from "dns-packet";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startNatsServer, freePort } from "../runtime/nats-server.ts";
import { startHost, connectNats } from "../runtime/host.ts";
import { StoreClient } from "../bus/store-client.ts";
import { storeActor } from "../actors/store/index.ts";
import { latencies } from "./lib/hist.ts";

export interface DnsLoad {
  qps: number;
  p99Ms: number;
  /** Queries that got no answer within 1 s. */
  lost: number;
}
export interface DnsBench {
  names: number;
  queries: number;
  inFlight: number;
  actor: DnsLoad;
  dnsmasq: DnsLoad;
}

const BIN = fileURLToPath(new URL("../bin/flotilla.mjs", import.meta.url));

/**
 * Keeps `inFlight` A queries outstanding against host:port until `queries` are answered (or lost) or
 * `maxMs` passes. The client costs little per query, so that it measures the server: each name's
 * query is encoded once (dns-packet, id 0) and sent as a copy carrying the next id, and one sweep
 * every 100 ms counts the queries unanswered after 1 s instead of a timer per query.
 */
export async function dnsLoad(host: string, port: number, names: string[], queries: number, inFlight: number, maxMs: number): Promise<DnsLoad> {
  const sock = dgram.createSocket({ type: "udp4", recvBufferSize: 4 * 1024 * 1024 });
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
  const h = latencies();
  const encoded = names.map((name) => packet.encode({ type: "query", id: 0, flags: packet.RECURSION_DESIRED, questions: [{ type: "A", name }] }));
  const sentAt = new Float64Array(65536);
  let nextId = 1;
  let sent = 0;
  let done = 0;
  let lost = 0;
  const deadline = performance.now() + maxMs;
  let finish = () => undefined as void;
  const finished = new Promise<void>((r) => (finish = r));
  const send = () => {
    if (sent >= queries || performance.now() >= deadline) {
      if (done === sent) finish();
      return;
    }
    let id = nextId++ & 0xffff;
    while (sentAt[id] !== 0 || id === 0) id = nextId++ & 0xffff;
    const q = Buffer.from(encoded[sent % encoded.length]!);
    q.writeUInt16BE(id, 0);
    sent++;
    sentAt[id] = performance.now();
    sock.send(q, port, host);
  };
  sock.on("message", (msg) => {
    const id = msg.readUInt16BE(0);
    const at = sentAt[id]!;
    if (at === 0) return;
    sentAt[id] = 0;
    h.record(performance.now() - at);
    done++;
    send();
  });
  const sweep = setInterval(() => {
    const now = performance.now();
    for (let id = 1; id < 65536; id++) {
      if (sentAt[id] !== 0 && now - sentAt[id]! > 1000) {
        sentAt[id] = 0;
        lost++;
        done++;
        send();
      }
    }
    if (done === sent && (sent >= queries || now >= deadline)) finish();
  }, 100);
  const t0 = performance.now();
  for (let i = 0; i < inFlight; i++) send();
  await finished;
  clearInterval(sweep);
  const seconds = (performance.now() - t0) / 1000;
  sock.close();
  const r = { qps: Math.round(h.count / seconds), p99Ms: Math.round(h.percentile(99) * 1000) / 1000, lost };
  h.destroy();
  return r;
}

async function waitAnswer(host: string, port: number, name: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const r = await dnsLoad(host, port, [name], 1, 1, 1500);
    if (r.lost === 0) return;
    if (Date.now() > until) throw new Error(`no answer for ${name} from ${host}:${port}`);
  }
}

const stop = (p: ChildProcess) =>
  new Promise<void>((r) => {
    if (p.exitCode !== null || p.signalCode !== null) return r();
    p.once("exit", () => r());
    p.kill("SIGTERM");
  });

export async function benchDns(o: { names?: number; queries?: number; inFlight?: number; maxSeconds?: number } = {}): Promise<DnsBench> {
  const n = o.names ?? 100;
  const queries = o.queries ?? 50_000;
  const inFlight = o.inFlight ?? 64;
  const maxMs = (o.maxSeconds ?? 30) * 1000;
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
    const actor = spawn(process.execPath, [...(process.env.DNS_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.DNS_PROF}`] : []), BIN, "actor", "dns", "--nats", server.url, "--cluster", cluster, "--opt", `listen=127.0.0.201:${actorPort}`, "--opt", "register=false", "--opt", "upstreams=[]"], {
      stdio: "ignore",
      env: { ...process.env, FLOTILLA_LOG: "error" },
    });
    procs.push(actor);
    const hostsFile = join(dir, "hosts");
    writeFileSync(hostsFile, hosts.join("\n") + "\n");
    const masqPort = await freePort("127.0.0.202");
    const masq = spawn("dnsmasq", ["--keep-in-foreground", "--no-resolv", "--no-hosts", `--addn-hosts=${hostsFile}`, "--listen-address=127.0.0.202", "--bind-interfaces", `--port=${masqPort}`, `--pid-file=${join(dir, "dnsmasq.pid")}`, "--cache-size=10000", "--user=root"], { stdio: "ignore" });
    procs.push(masq);
    await waitAnswer("127.0.0.201", actorPort, names[n - 1]!, 30_000);
    await waitAnswer("127.0.0.202", masqPort, names[n - 1]!, 10_000);
    // Warm both, then measure one after the other with the same client.
    await dnsLoad("127.0.0.201", actorPort, names, 2000, inFlight, 5000);
    await dnsLoad("127.0.0.202", masqPort, names, 2000, inFlight, 5000);
    const actorLoad = await dnsLoad("127.0.0.201", actorPort, names, queries, inFlight, maxMs);
    const masqLoad = await dnsLoad("127.0.0.202", masqPort, names, queries, inFlight, maxMs);
    return { names: n, queries, inFlight, actor: actorLoad, dnsmasq: masqLoad };
  } finally {
    await Promise.all(procs.map(stop));
    await nc.close();
    await host.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [q, f] = process.argv.slice(2).map(Number);
  benchDns({ queries: q || undefined, inFlight: f || undefined }).then(
    (r) => {
      console.log(JSON.stringify(r));
      process.exit(0);
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
