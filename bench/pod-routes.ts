/**
 * Between nodes: pod-to-pod HTTP requests/s and p99, and a bulk download's MB/s, over a host-gw
 * route and over VXLAN, in one run with the same client.
 *
 * Three test hosts in network namespaces this benchmark creates, set up by the kubelet's own
 * `PodNetwork` (so the routes are the ones `planPeerRoutes` chooses): A (10.250.1.2) and C
 * (10.250.1.3) share a link, B (10.250.2.2) sits behind a router namespace (forwarding, no pod
 * routes). A client pod on A talks to a server pod on C (host-gw) and to one on B (VXLAN through the
 * router). The two targets are measured alternately, `pairs` times each; each figure is the median of
 * its runs, the ratio the median of the pairs' ratios. Needs root.
 *
 * @example
 *   // node --import tsx bench/pod-routes.ts [seconds] [concurrency] [pairs]
 *   const r = await benchPodRoutes();   // { hostGw: { rps, p99Ms, mbps }, vxlan: { … }, ratio }
 */
import type { ChildProcess } from "node:child_process";
import type { LoadResult } from "./proxy.ts";
import http from "node:http";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { PodNetwork, podNetnsName } from "../actors/kubelet/pod-network.ts";
import { load } from "./proxy.ts";
import { runAsMain } from "./lib/main.ts";

export interface PathResult extends LoadResult {
  /** A 64 MiB download's throughput, MB/s (median). */
  mbps: number;
}
export interface PodRoutesBench {
  seconds: number;
  concurrency: number;
  pairs: number;
  hostGw: PathResult;
  vxlan: PathResult;
  /** Each pair's VXLAN rps ÷ host-gw rps. */
  pairRatios: number[];
  ratio: number;
}

const SELF = fileURLToPath(import.meta.url);
const BULK = 64 * 1024 * 1024;
const SERVER = `const b = Buffer.alloc(${BULK}, 120); require("node:http").createServer((q, s) => s.end(q.url === "/bulk" ? b : "ok")).listen(8080, "0.0.0.0")`;

const sh = (ns: string, cmd: string) => execFileSync("ip", ["netns", "exec", ns, "sh", "-c", cmd], { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });

/** One download of /bulk: MB/s. */
function bulk(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let n = 0;
    http.get({ host, port: 8080, path: "/bulk" }, (res) => {
      res.on("data", (c: Buffer) => (n += c.length));
      res.on("end", () => resolve(Math.round((n / 1e6 / ((performance.now() - t0) / 1000)) * 10) / 10));
    }).on("error", reject);
  });
}

/** Runs this file in client mode inside the client pod's namespace. */
function client(ns: string, args: string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const p = spawn("ip", ["netns", "exec", ns, process.execPath, "--import", "tsx", SELF, "--client", ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout!.on("data", (d) => (out += d));
    p.once("error", reject);
    p.once("close", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`client exited ${code}`))));
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export async function benchPodRoutes(o: { seconds?: number; concurrency?: number; pairs?: number } = {}): Promise<PodRoutesBench> {
  if (process.getuid?.() !== 0) throw new Error("the pod routes benchmark needs root (network namespaces)");
  const seconds = o.seconds ?? 2;
  const concurrency = o.concurrency ?? 32;
  const pairs = o.pairs ?? 5;
  const prefix = `fltvx${randomBytes(2).toString("hex")}`;
  const made: string[] = [];
  const procs: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), "flotilla-bench-routes-"));
  const hosts = [
    { name: "a", address: "10.250.1.2", podCIDR: "10.244.1.0/24" },
    { name: "b", address: "10.250.2.2", podCIDR: "10.244.2.0/24" },
    { name: "c", address: "10.250.1.3", podCIDR: "10.244.3.0/24" },
  ];
  const nets: PodNetwork[] = [];
  const uid = (h: string) => `${prefix}-${h}`;
  try {
    const ns = (n: string) => `${prefix}-${n}`;
    for (const n of ["r", "a", "b", "c"]) {
      execFileSync("ip", ["netns", "add", ns(n)]);
      made.push(ns(n));
      sh(ns(n), "ip link set lo up");
    }
    sh(ns("r"), "ip link add lan0 type bridge && ip addr add 10.250.1.1/24 dev lan0 && ip link set lan0 up && sysctl -qw net.ipv4.ip_forward=1");
    for (const [h, addr, gw, onLan] of [["a", "10.250.1.2/24", "10.250.1.1", true], ["c", "10.250.1.3/24", "10.250.1.1", true], ["b", "10.250.2.2/24", "10.250.2.1", false]] as const) {
      const v = `${prefix.slice(5)}${h}`;
      execFileSync("ip", ["link", "add", `${v}r`, "type", "veth", "peer", "name", `${v}h`]);
      execFileSync("ip", ["link", "set", `${v}r`, "netns", ns("r")]);
      execFileSync("ip", ["link", "set", `${v}h`, "netns", ns(h)]);
      sh(ns("r"), onLan ? `ip link set ${v}r master lan0 && ip link set ${v}r up` : `ip addr add 10.250.2.1/24 dev ${v}r && ip link set ${v}r up`);
      sh(ns(h), `ip link set ${v}h name eth0 && ip addr add ${addr} dev eth0 && ip link set eth0 up && ip route add default via ${gw}`);
    }
    const ips: Record<string, string> = {};
    for (const h of hosts) {
      const net = new PodNetwork({ podCIDR: h.podCIDR, stateDir: join(dir, h.name), nodeNetns: ns(h.name) });
      nets.push(net);
      await net.ensureNode();
      await net.syncRoutes(hosts.map((p) => ({ podCIDR: p.podCIDR, address: p.address })));
      ips[h.name] = (await net.setup(uid(h.name))).ip;
    }
    for (const h of ["b", "c"]) procs.push(spawn("ip", ["netns", "exec", podNetnsName(uid(h)), process.execPath, "-e", SERVER], { stdio: "ignore" }));
    const from = podNetnsName(uid("a"));
    const rps = (ip: string, ms: number, c: number) => client(from, ["load", ip, String(ms), String(c)]) as Promise<LoadResult>;
    const deadline = Date.now() + 20_000;
    for (;;) {
      const ok = await Promise.all([rps(ips.c!, 100, 1), rps(ips.b!, 100, 1)]).then((r) => r.every((x) => x.rps > 0), () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error("the server pods did not answer in time");
    }
    await rps(ips.c!, 1000, concurrency);
    await rps(ips.b!, 1000, concurrency);
    const runs = { hostGw: [] as PathResult[], vxlan: [] as PathResult[] };
    for (let i = 0; i < pairs; i++) {
      for (const [k, ip] of [["hostGw", ips.c!], ["vxlan", ips.b!]] as const) {
        const l = await rps(ip, seconds * 1000, concurrency);
        const mbps = (await client(from, ["bulk", ip])) as number;
        runs[k].push({ ...l, mbps });
      }
    }
    const med = (rs: PathResult[]): PathResult => ({ rps: Math.round(median(rs.map((r) => r.rps))), p99Ms: median(rs.map((r) => r.p99Ms)), mbps: median(rs.map((r) => r.mbps)) });
    const pairRatios = runs.vxlan.map((v, i) => Math.round((v.rps / Math.max(1, runs.hostGw[i]!.rps)) * 100) / 100);
    return { seconds, concurrency, pairs, hostGw: med(runs.hostGw), vxlan: med(runs.vxlan), pairRatios, ratio: median(pairRatios) };
  } finally {
    for (const p of procs) p.kill("SIGKILL");
    for (const [i, n] of nets.entries()) {
      await n.teardown(uid(hosts[i]!.name)).catch(() => undefined);
      await n.cleanupNode().catch(() => undefined);
    }
    for (const n of made.reverse()) {
      try {
        execFileSync("ip", ["netns", "del", n]);
      } catch {
        /* gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

runAsMain(import.meta.url, () => {
  const args = process.argv.slice(2);
  return args[0] === "--client"
    ? args[1] === "bulk"
      ? bulk(args[2]!)
      : load(args[2]!, 8080, Number(args[3]), Number(args[4])).catch(() => ({ rps: 0, p99Ms: 0 }))
    : benchPodRoutes({ seconds: Number(args[0]) || undefined, concurrency: Number(args[1]) || undefined, pairs: Number(args[2]) || undefined });
});
