/**
 * Every benchmark the harness runs: its name, its sizes in the quick and the full run, a rough
 * duration (for the progress bar) and how it turns into figures. Each runs in its own process
 * (bench/child.ts).
 */
import type { Figure, Mode } from "./report/types.ts";
import * as F from "./figures.ts";

type Progress = (fraction: number, what: string) => void;

export interface BenchDef {
  name: string;
  /** Expected seconds, for the progress bar and the time budget. */
  estimate: Record<Mode, number>;
  /** Hard limit: the harness kills the benchmark's process after this many seconds. */
  limit: Record<Mode, number>;
  run(mode: Mode, progress: Progress): Promise<Figure[]>;
}

const quick = (m: Mode) => m === "quick";

export const SUITE: BenchDef[] = [
  {
    name: "ha",
    estimate: { quick: 45, full: 60 },
    limit: { quick: 180, full: 240 },
    async run(m, progress) {
      const { benchHa } = await import("./ha.ts");
      progress(0.1, "R1 and R3 writes, then SIGKILL of the leading server");
      return F.haFigures(await benchHa({ writes: quick(m) ? 500 : 3000 }));
    },
  },
  {
    name: "store",
    estimate: { quick: 6, full: 20 },
    limit: { quick: 60, full: 120 },
    async run(m, progress) {
      const { benchStore } = await import("./store.ts");
      return F.storeFigures(await benchStore({ n: quick(m) ? 300 : 5000, onProgress: progress }));
    },
  },
  {
    name: "scheduler",
    estimate: { quick: 20, full: 150 },
    limit: { quick: 120, full: 480 },
    async run(m, progress) {
      const { benchSchedulerRuns } = await import("./scheduler.ts");
      // The load: 10,000 pods; load generator, store and scheduler in separate processes.
      const pods = quick(m) ? 500 : 10_000;
      const runs = quick(m) ? 1 : 3;
      const a = await benchSchedulerRuns({ nodes: 1000, pods, runs: 1 });
      progress(0.15, "1,000 nodes");
      const b = await benchSchedulerRuns({ nodes: 5000, pods, runs, onRun: (i) => progress(0.15 + (0.45 * (i + 1)) / runs, `5,000 nodes, run ${i + 1}`) });
      const c = await benchSchedulerRuns({ nodes: 5000, pods, runs, shape: "drain", onRun: (i) => progress(0.6 + (0.4 * (i + 1)) / runs, `drain, run ${i + 1}`) });
      return [...F.schedulerFigures(a), ...F.schedulerFigures(b), ...F.schedulerFigures(c)];
    },
  },
  {
    name: "api",
    estimate: { quick: 10, full: 50 },
    limit: { quick: 90, full: 150 },
    async run(m, progress) {
      const { benchApi } = await import("./api.ts");
      return F.apiFigures(await benchApi({ rate: 200, seconds: quick(m) ? 2 : 20, onProgress: progress }));
    },
  },
  {
    name: "watch",
    estimate: { quick: 9, full: 20 },
    limit: { quick: 90, full: 120 },
    async run(m, progress) {
      const { benchWatch } = await import("./api.ts");
      return F.watchFigures(await benchWatch({ watchers: 100, rate: 20, seconds: quick(m) ? 2 : 10, onProgress: progress }));
    },
  },
  {
    name: "pod-startup",
    estimate: { quick: 40, full: 160 },
    limit: { quick: 420, full: 900 },
    async run(m, progress) {
      const { benchPodStartup } = await import("./kubelet.ts");
      const { dockerAnswers } = await import("../cli/up.ts");
      const out: Figure[] = [];
      const { containerdProblem } = await import("../specs/harness/optional.ts");
      const engines = ["simulated", "process", "docker", "cri"] as const;
      for (const [i, engine] of engines.entries()) {
        if (engine === "docker" && !(await dockerAnswers(3000))) {
          out.push({ id: "startup.docker.p99", section: "Pod startup", label: "docker engine p99", unit: "ms", better: "lower", note: "no Docker engine answers" });
          continue;
        }
        const noContainerd = engine === "cri" ? containerdProblem() : undefined;
        if (noContainerd) {
          out.push({ id: "startup.cri.p99", section: "Pod startup", label: "cri engine p99", unit: "ms", better: "lower", note: noContainerd });
          continue;
        }
        // Quick: 20 pods per engine, so that a loaded machine still finishes docker and cri in minutes.
        const n = quick(m) ? 20 : 100;
        out.push(...F.podStartupFigures(await benchPodStartup(engine, n)));
        progress((i + 1) / engines.length, `${engine} engine`);
      }
      return out;
    },
  },
  {
    name: "docker-peer",
    // Three private Swarm engines and five concurrency levels besides the Deployment.
    estimate: { quick: 40, full: 180 },
    limit: { quick: 240, full: 600 },
    async run(m, progress) {
      const { benchDockerPeer } = await import("./docker-peer.ts");
      return F.dockerPeerFigures(await benchDockerPeer({ replicas: quick(m) ? 5 : 50, onProgress: progress }));
    },
  },
  {
    name: "failover",
    estimate: { quick: 10, full: 30 },
    limit: { quick: 90, full: 180 },
    async run(m, progress) {
      const { benchFailover } = await import("./failover.ts");
      const kill = await benchFailover({ mode: "kill" });
      progress(0.5, "killed node");
      // The quick run leaves out the frozen node (its detection waits for NATS pings).
      if (quick(m)) return F.failoverFigures(kill);
      const stop = await benchFailover({ mode: "stop" });
      return [...F.failoverFigures(kill), ...F.failoverFigures(stop)];
    },
  },
  {
    name: "memory-idle",
    estimate: { quick: 10, full: 26 },
    limit: { quick: 60, full: 90 },
    async run(m, progress) {
      const { benchIdleMemory } = await import("./memory.ts");
      return F.idleMemoryFigures(await benchIdleMemory({ idleSeconds: quick(m) ? 5 : 20, onProgress: progress }));
    },
  },
  {
    name: "memory-scale",
    estimate: { quick: 40, full: 900 },
    limit: { quick: 120, full: 1260 },
    async run(m, progress) {
      const { benchScaleMemory } = await import("./memory.ts");
      const { KUBERNETES_NODE_LEASE_SECONDS, KUBERNETES_LEADER_LEASE_MS, ENVELOPE_MB } = await import("./envelope.ts");
      if (quick(m)) return F.scaleMemoryFigures(await benchScaleMemory({ nodes: 1000, pods: 10_000, budgetMs: 30_000, onProgress: progress }));
      const a = await benchScaleMemory({ nodes: 1000, pods: 30_000, budgetMs: 150_000, onProgress: (f, w) => progress(f * 0.2, w) });
      // The envelope is measured, not extrapolated: up to 15 minutes for 150,000 pods. Its 5,000
      // nodes renew 40 s Leases, the kubelet default of Kubernetes, whose envelope this is
      // (Flotilla's kubelet renews a 10 s Lease: fine at 1,000 nodes, 1,500 writes/s at 5,000). The
      // control plane's leader-elected actors get kube-controller-manager's 15 s lease (Flotilla's
      // 5 s renew deadline of 3.3 s lapses in a process this busy) and the envelope's 8 GiB as heap.
      const b = await benchScaleMemory({ nodes: 5000, pods: 150_000, budgetMs: 900_000, nodeLeaseSeconds: KUBERNETES_NODE_LEASE_SECONDS, leaderLeaseMs: KUBERNETES_LEADER_LEASE_MS, heapMb: ENVELOPE_MB, onProgress: (f, w) => progress(0.2 + f * 0.8, w) });
      return [...F.scaleMemoryFigures(a), ...F.scaleMemoryFigures(b)];
    },
  },
  {
    name: "proxy",
    estimate: { quick: 5, full: 9 },
    limit: { quick: 60, full: 90 },
    async run(m) {
      const { benchProxy } = await import("./proxy.ts");
      return F.proxyFigures(await benchProxy({ seconds: quick(m) ? 1 : 3 }));
    },
  },
  {
    name: "proxy-kernel",
    estimate: { quick: 15, full: 40 },
    limit: { quick: 90, full: 180 },
    async run(m, progress) {
      const { benchProxyKernel } = await import("./proxy-kernel.ts");
      progress(0.1, "straight to the pod and through the ClusterIP (iptables DNAT), alternately");
      return F.proxyKernelFigures(await benchProxyKernel(quick(m) ? { seconds: 1, pairs: 3 } : { seconds: 2, pairs: 6 }));
    },
  },
  {
    name: "pod-routes",
    estimate: { quick: 20, full: 45 },
    limit: { quick: 90, full: 180 },
    async run(m, progress) {
      const { benchPodRoutes } = await import("./pod-routes.ts");
      progress(0.1, "pod to pod between nodes: host-gw and VXLAN through a router, alternately");
      return F.podRoutesFigures(await benchPodRoutes(quick(m) ? { seconds: 1, pairs: 3 } : { seconds: 2, pairs: 5 }));
    },
  },
  {
    name: "dns",
    estimate: { quick: 10, full: 25 },
    limit: { quick: 90, full: 150 },
    async run(m, progress) {
      const { benchDns } = await import("./dns.ts");
      progress(0.1, "the dns actor and dnsmasq, A queries over UDP");
      return F.dnsFigures(await benchDns({ seconds: quick(m) ? 2 : 5 }));
    },
  },
];
