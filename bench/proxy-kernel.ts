/**
 * Services in the kernel: HTTP requests/s and p99 from one pod to another straight to the pod's
 * address, and through its Service's ClusterIP (the kernel proxy's iptables rules: DNAT in the
 * node's namespace), in one run with the same keep-alive client load, and their ratio.
 *
 * Everything lives in network namespaces this benchmark creates (a node with bridge `br0` at
 * 10.244.250.1/24, a server pod at .2, a client pod at .3; the Service at 10.96.250.10:80), with the
 * rules the proxy computes (`serviceRules`) applied by the proxy's own `KernelServices`. The two
 * targets are measured alternately, `pairs` times each (default 6); each figure is the median of its
 * runs and the ratio the median of the pairs' ratios, so a change in the machine's load during the
 * run weighs on both. Needs root.
 *
 * @example
 *   const r = await benchProxyKernel();   // { direct: { rps, p99Ms }, clusterIP: { rps, p99Ms }, ratio }
 *   // node --import tsx bench/proxy-kernel.ts [seconds] [concurrency] [pairs]
 */
import type { ChildProcess } from "node:child_process";
import type { Endpoints, Service } from "../bus/resources.ts";
import type { LoadResult } from "./proxy.ts";
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { KernelServices } from "../actors/proxy/iptables.ts";
import { serviceRules } from "../actors/proxy/iptables-rules.ts";
import { load } from "./proxy.ts";
import { runAsMain } from "./lib/main.ts";

export interface ProxyKernelBench {
  seconds: number;
  pairs: number;
  /** Each pair's ClusterIP rps / direct rps, in the order measured. */
  pairRatios: number[];
  concurrency: number;
  direct: LoadResult;
  clusterIP: LoadResult;
  /** ClusterIP rps / direct rps. */
  ratio: number;
}

const SELF = fileURLToPath(import.meta.url);
const POD_SERVER = "10.244.250.2";
const POD_CLIENT = "10.244.250.3";
const CLUSTER_IP = "10.96.250.10";

const ip = (args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
const inNs = (ns: string, cmd: string) => execFileSync("ip", ["netns", "exec", ns, "sh", "-c", cmd], { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });

/** Runs the load from inside the client pod's namespace (this file in client mode). */
function loadFrom(ns: string, host: string, port: number, ms: number, concurrency: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const p = spawn("ip", ["netns", "exec", ns, process.execPath, "--import", "tsx", SELF, "--client", host, String(port), String(ms), String(concurrency)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout!.on("data", (d) => (out += d));
    p.once("error", reject);
    p.once("close", (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`client exited ${code}`))));
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const medianLoad = (rs: LoadResult[]): LoadResult => ({ rps: Math.round(median(rs.map((r) => r.rps))), p99Ms: Math.round(median(rs.map((r) => r.p99Ms)) * 1000) / 1000 });

export async function benchProxyKernel(o: { seconds?: number; concurrency?: number; pairs?: number } = {}): Promise<ProxyKernelBench> {
  if (process.getuid?.() !== 0) throw new Error("the kernel proxy benchmark needs root (network namespaces, iptables)");
  const seconds = o.seconds ?? 2;
  const pairs = o.pairs ?? 6;
  const concurrency = o.concurrency ?? 32;
  const prefix = `fltbk${randomBytes(2).toString("hex")}`;
  const [node, srv, cli] = ["node", "srv", "cli"].map((n) => `${prefix}-${n}`) as [string, string, string];
  const procs: ChildProcess[] = [];
  const made: string[] = [];
  const kernel = new KernelServices({ netns: node });
  try {
    for (const ns of [node, srv, cli]) {
      ip(["netns", "add", ns]);
      made.push(ns);
      inNs(ns, "ip link set lo up");
    }
    inNs(node, "ip link add br0 type bridge && ip addr add 10.244.250.1/24 dev br0 && ip link set br0 up && sysctl -qw net.ipv4.ip_forward=1 && sysctl -qw net.bridge.bridge-nf-call-iptables=1");
    for (const [ns, addr, i] of [[srv, POD_SERVER, 0], [cli, POD_CLIENT, 1]] as const) {
      const v = `${prefix.slice(5)}v${i}`;
      inNs(node, `ip link add ${v}a type veth peer name ${v}b && ip link set ${v}b netns ${ns} && ip link set ${v}a master br0 && ip link set ${v}a up`);
      inNs(ns, `ip link set ${v}b name eth0 && ip addr add ${addr}/24 dev eth0 && ip link set eth0 up && ip route add default via 10.244.250.1`);
    }
    const server = spawn("ip", ["netns", "exec", srv, process.execPath, "-e", 'require("node:http").createServer((q, s) => s.end("ok")).listen(8080, "0.0.0.0")'], { stdio: "ignore" });
    procs.push(server);
    const svc = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: "default" },
      spec: { clusterIP: CLUSTER_IP, clusterIPs: [CLUSTER_IP], selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080, protocol: "TCP" }] },
    } as Service;
    const eps = {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "web", namespace: "default" },
      subsets: [{ addresses: [{ ip: POD_SERVER, nodeName: "bench" }], ports: [{ port: 8080, protocol: "TCP" }] }],
    } as Endpoints;
    await kernel.sync(serviceRules({ services: [svc], endpointsOf: () => eps, node: { name: "bench", clusterCIDR: "10.244.0.0/16" } }));
    // Ready once both paths answer.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const ok = await Promise.all([loadFrom(cli, POD_SERVER, 8080, 100, 1), loadFrom(cli, CLUSTER_IP, 80, 100, 1)]).then((r) => r.every((x) => x.rps > 0), () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error("the pod did not answer (directly and through the ClusterIP) in time");
    }
    await loadFrom(cli, POD_SERVER, 8080, 1000, concurrency); // warm-up
    const ds: LoadResult[] = [];
    const cs: LoadResult[] = [];
    for (let i = 0; i < pairs; i++) {
      ds.push(await loadFrom(cli, POD_SERVER, 8080, seconds * 1000, concurrency));
      cs.push(await loadFrom(cli, CLUSTER_IP, 80, seconds * 1000, concurrency));
    }
    const pairRatios = ds.map((d, i) => Math.round((cs[i]!.rps / Math.max(1, d.rps)) * 100) / 100);
    return { seconds, pairs, pairRatios, concurrency, direct: medianLoad(ds), clusterIP: medianLoad(cs), ratio: median(pairRatios) };
  } finally {
    await kernel.cleanup().catch(() => undefined);
    for (const p of procs) {
      if (p.exitCode === null && p.signalCode === null) {
        const gone = new Promise((r) => p.once("exit", r));
        p.kill("SIGTERM");
        await gone;
      }
    }
    for (const ns of made.reverse()) {
      try {
        ip(["netns", "del", ns]);
      } catch {
        /* gone */
      }
    }
  }
}

runAsMain(import.meta.url, () => {
  const args = process.argv.slice(2);
  return args[0] === "--client"
    ? load(args[1]!, Number(args[2]), Number(args[3]), Number(args[4])).catch(() => ({ rps: 0, p99Ms: 0 }))
    : benchProxyKernel({ seconds: Number(args[0]) || undefined, concurrency: Number(args[1]) || undefined, pairs: Number(args[2]) || undefined });
});
