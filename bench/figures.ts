/**
 * Pure: each benchmark's raw result → the figures of the report, each beside its anchor and goal.
 * The anchors and goals are the issue's (see docs/performance.md for their sources).
 */
import type { Figure } from "./report/types.ts";
import type { StoreBench } from "./store.ts";
import type { SchedulerRuns } from "./scheduler.ts";
import type { DockerPeer } from "./docker-peer.ts";
import type { ScaleMemory } from "./memory.ts";
import { ENVELOPE_MB, KUBERNETES_LEADER_LEASE_MS } from "./envelope.ts";

/** Where each published anchor comes from (see docs/performance.md). */
export const SOURCES = {
  schedulerPerf: "kubernetes test/integration/scheduler_perf/misc/performance-config.yaml (threshold)",
  slo: "Kubernetes SIG Scalability SLOs (kubernetes/community sig-scalability/slos)",
  failover: "Kubernetes defaults: node-monitor-grace-period 40 s + default not-ready toleration 300 s",
  k3sIdle: "k3s documentation, resource profiling (server idle)",
  nomadC1m: "HashiCorp, \"Nomad C1M\" (2016): 1,000,000 containers on 5,000 hosts, 3,750 placements/s for the whole cluster",
} as const;

export const ANCHORS = {
  /** scheduler_perf's SchedulingBasic thresholds at 5,000 nodes, by the number of measured pods. */
  kubeSchedulerGates5000Nodes: { 10_000: 680, 50_000: 810 } as Record<number, number>,
  kubeApiP99SloMs: 1000,
  kubePodStartupP99SloMs: 5000,
  kubeFailoverS: 340,
  k3sIdleMb: 500,
  storeGoalRatio: 1.5,
  /** Performance round 2: at 1 in flight the store's create p50 may add one NATS round trip to the raw put's. */
  storeP50RoundTripMs: 0.35,
  engineGoalRatio: 1.2,
  failoverGoalKillS: 5,
  failoverGoalStopS: 15,
  nomadC1mPerS: 3750,
  /** Performance round 2's goals: pods created during the run, and pods already Pending. */
  schedulerPipelineGoal: 3000,
  schedulerDrainGoal: 4000,
} as const;

const r1 = (n: number) => Math.round(n * 10) / 10;
const r3 = (n: number) => Math.round(n * 1000) / 1000;

export function storeFigures(b: StoreBench): Figure[] {
  const out: Figure[] = [];
  for (const row of b.rows) {
    const c = row.inFlight;
    const goal = ANCHORS.storeGoalRatio;
    out.push(
      { id: `store.c${c}.rate`, section: "Store", label: `create through the store actor, ${c} in flight`, value: Math.round(row.store.perSecond), unit: "/s", better: "higher",
        anchor: { value: Math.round(row.raw.perSecond), label: "raw KV put" }, goal: { value: Math.round(row.raw.perSecond / goal), label: `≥ raw KV ÷ ${goal}` } },
      { id: `store.c${c}.p50`, section: "Store", label: `create p50, ${c} in flight`, value: r3(row.store.p50Ms), unit: "ms", better: "lower",
        anchor: { value: r3(row.raw.p50Ms), label: "raw KV put" },
        goal:
          c === 1
            ? { value: r3(row.raw.p50Ms + ANCHORS.storeP50RoundTripMs), label: `≤ raw KV + ${ANCHORS.storeP50RoundTripMs} ms (one NATS round trip)` }
            : { value: r3(row.raw.p50Ms * goal), label: `≤ ${goal}× raw KV` } },
      { id: `store.c${c}.p99`, section: "Store", label: `create p99, ${c} in flight`, value: r3(row.store.p99Ms), unit: "ms", better: "lower",
        anchor: { value: r3(row.raw.p99Ms), label: "raw KV put" }, goal: { value: r3(row.raw.p99Ms * goal), label: `≤ ${goal}× raw KV` } },
    );
    const etcdLabel = `etcd ${b.etcdVersion ?? ""} put (JSON gateway)`.replace("  ", " ");
    out.push(
      { id: `store.c${c}.etcd.rate`, section: "Store", label: `create vs etcd, ${c} in flight`, value: row.etcd ? Math.round(row.store.perSecond) : undefined, unit: "/s", better: "higher",
        anchor: row.etcd ? { value: Math.round(row.etcd.perSecond), label: etcdLabel } : undefined, note: row.etcd ? undefined : b.etcdNote },
      { id: `store.c${c}.etcd.p99`, section: "Store", label: `create p99 vs etcd, ${c} in flight`, value: row.etcd ? r3(row.store.p99Ms) : undefined, unit: "ms", better: "lower",
        anchor: row.etcd ? { value: r3(row.etcd.p99Ms), label: etcdLabel } : undefined, note: row.etcd ? undefined : b.etcdNote },
    );
  }
  return out;
}

/** kube-scheduler's threshold for exactly this shape (5,000 nodes and 10,000 or 50,000 pods), or none. */
export function schedulerGate(nodes: number, pods: number): { value: number; label: string; published: string } | undefined {
  const value = nodes === 5000 ? ANCHORS.kubeSchedulerGates5000Nodes[pods] : undefined;
  return value === undefined ? undefined : { value, label: `kube-scheduler threshold, 5000Nodes_${pods}Pods`, published: SOURCES.schedulerPerf };
}

export function schedulerFigures(r: SchedulerRuns): Figure[] {
  const n = r.nodes.toLocaleString("en-US");
  const p = r.pods.toLocaleString("en-US");
  const events = r.runs.map((x) => x.scheduledEvents);
  const eventsNote = events.every((x) => x !== undefined) ? `; Scheduled Events written per run: ${events.map((x) => x!.toLocaleString("en-US")).join(", ")} of ${r.pods.toLocaleString("en-US")}` : "";
  // The cores of the median run, each process (the machine's cores are the limit when they add up to them).
  const medianRun = [...r.runs].sort((a, b) => a.podsPerSecond - b.podsPerSecond)[Math.floor(r.runs.length / 2)];
  const cores = medianRun?.cores && Object.keys(medianRun.cores).length ? `; cores used in the median run: ${Object.entries(medianRun.cores).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ")} (${Object.values(medianRun.cores).reduce((a, b) => a + b, 0).toFixed(2)} in all)` : "";
  const spread = `median of ${r.runs.length} run${r.runs.length === 1 ? "" : "s"} (min ${r.min}, max ${r.max} pods/s); ${r.processes}${eventsNote}${cores}`;
  const p99 = r.runs.map((x) => x.p99Ms).sort((a, b) => a - b)[Math.floor(r.runs.length / 2)]!;
  const p50 = r.runs.map((x) => x.p50Ms).sort((a, b) => a - b)[Math.floor(r.runs.length / 2)]!;
  if (r.shape === "drain") {
    const nomad = { value: ANCHORS.nomadC1mPerS, label: "Nomad C1M", published: SOURCES.nomadC1m };
    return [
      { id: `sched.drain.${r.nodes}.rate`, section: "Scheduler", label: `drain: ${p} pods Pending when the scheduler starts, ${n} nodes`, value: r.median, unit: "/s", better: "higher", anchor: r.nodes === 5000 ? nomad : undefined,
        goal: r.nodes === 5000 ? { value: ANCHORS.schedulerDrainGoal, label: "≥ 4,000 (performance round 2)" } : undefined, note: `${spread}; first bind → last bind` },
    ];
  }
  const gate = schedulerGate(r.nodes, r.pods);
  const goal = r.nodes === 5000 && r.pods === 10_000 ? { value: ANCHORS.schedulerPipelineGoal, label: "≥ 3,000 (performance round 2)" } : gate ? { value: gate.value, label: "≥ the threshold" } : undefined;
  return [
    { id: `sched.${r.nodes}.rate`, section: "Scheduler", label: `throughput, ${n} nodes, ${p} pods created during the run`, value: r.median, unit: "/s", better: "higher", anchor: gate, goal,
      note: `${spread}${gate ? "" : "; no published threshold for this many nodes (scheduler_perf's are for 5,000)"}` },
    { id: `sched.${r.nodes}.p99`, section: "Scheduler", label: `create → bound p99, ${n} nodes`, value: r1(p99), unit: "ms", better: "lower", note: `p50 ${r1(p50)} ms (medians of the runs); all pods created at once, so this includes queueing` },
  ];
}

export function apiFigures(r: { rate: number; seconds: number; mutating: { p50Ms: number; p99Ms: number; errors: number }; read: { p50Ms: number; p99Ms: number; errors: number } }): Figure[] {
  const slo = { value: ANCHORS.kubeApiP99SloMs, label: "Kubernetes p99 SLO", published: SOURCES.slo };
  const at = `${r.rate} req/s for ${r.seconds} s`;
  const errs = (e: number) => (e ? `${e} errors` : undefined);
  return [
    { id: "api.mutating.p50", section: "API (HTTPS)", label: `mutating p50, ${at}`, value: r3(r.mutating.p50Ms), unit: "ms", better: "lower", note: errs(r.mutating.errors) },
    { id: "api.mutating.p99", section: "API (HTTPS)", label: `mutating p99, ${at}`, value: r3(r.mutating.p99Ms), unit: "ms", better: "lower", anchor: slo, goal: slo, note: errs(r.mutating.errors) },
    { id: "api.read.p50", section: "API (HTTPS)", label: `read p50, ${at}`, value: r3(r.read.p50Ms), unit: "ms", better: "lower", note: errs(r.read.errors) },
    { id: "api.read.p99", section: "API (HTTPS)", label: `read p99, ${at}`, value: r3(r.read.p99Ms), unit: "ms", better: "lower", anchor: slo, goal: slo, note: errs(r.read.errors) },
  ];
}

export function watchFigures(r: { watchers: number; events: number; delivered: number; expected: number; p50Ms: number; p99Ms: number }): Figure[] {
  const lost = r.expected - r.delivered;
  return [
    { id: "watch.p99", section: "Watch", label: `delivery p99, ${r.watchers} HTTP watchers`, value: r3(r.p99Ms), unit: "ms", better: "lower",
      note: `p50 ${r3(r.p50Ms)} ms; ${r.events} creates × ${r.watchers} watchers${lost ? `; ${lost} events not delivered` : ""}` },
  ];
}

export function podStartupFigures(r: { engine: string; p50Ms: number; p99Ms: number; n: number }): Figure[] {
  const slo = { value: ANCHORS.kubePodStartupP99SloMs, label: "Kubernetes p99 SLO", published: SOURCES.slo };
  return [
    { id: `startup.${r.engine}.p50`, section: "Pod startup", label: `${r.engine} engine p50 (${r.n} pods)`, value: r.p50Ms, unit: "ms", better: "lower" },
    { id: `startup.${r.engine}.p99`, section: "Pod startup", label: `${r.engine} engine p99 (${r.n} pods)`, value: r.p99Ms, unit: "ms", better: "lower", anchor: slo, goal: slo },
  ];
}

const SWARM_LABELS = {
  bridge: "Docker Swarm service, tasks on a bridge (like for like)",
  overlay: "Docker Swarm service, tasks on an overlay network",
  none: "Docker Swarm service, tasks without networking",
} as const;

/** The parallelism at which the engine created and started its containers fastest (ties: the lower). */
export function bestConcurrency(rows: readonly { parallel: number; seconds: number }[]): { parallel: number; seconds: number } | undefined {
  return [...rows].sort((a, b) => a.seconds - b.seconds || a.parallel - b.parallel)[0];
}

export function dockerPeerFigures(r: DockerPeer): Figure[] {
  const n = r.replicas;
  const run = { value: r1(r.dockerRunS), label: `${n} × docker run, ${r.dockerRunParallel ?? 8} parallel` };
  const hostRules = r.hostRules === undefined ? "" : r.hostRules.length === 0 ? "; the host's iptables mention none of the private engine's addresses" : `; ${r.hostRules.length} host iptables rules mention the private engine's addresses`;
  // The goal is the like-for-like peer: a Swarm task on a bridge, as a pod's sandbox is.
  const swarm = (["bridge", "overlay", "none"] as const).map((shape): Figure => {
    const s = r.swarm.find((x) => x.shape === shape);
    const measured = s?.seconds !== undefined;
    return {
      id: shape === "bridge" ? "peer.vs-swarm" : `peer.vs-swarm-${shape}`,
      section: "Docker peer",
      label: `Deployment of ${n} busybox → all Running${shape === "bridge" ? "" : ` (Swarm: ${shape === "none" ? "no networking" : "overlay"})`}`,
      value: measured ? r1(r.flotillaS) : undefined,
      unit: "s",
      better: "lower",
      anchor: measured ? { value: r1(s.seconds!), label: SWARM_LABELS[shape] } : undefined,
      goal: measured && shape === "bridge" ? { value: r1(s.seconds!), label: "≤ Swarm (like for like)" } : undefined,
      note: measured ? (shape === "bridge" ? `private dockerd with its own bridge in its own network namespace${hostRules}` : undefined) : (s?.note ?? `Swarm (${shape}) not measured`),
    };
  });
  const out: Figure[] = [
    ...swarm,
    { id: "peer.vs-engine", section: "Docker peer", label: `Deployment of ${n} busybox vs the engine's limit`, value: r1(r.flotillaS), unit: "s", better: "lower",
      anchor: run, goal: { value: r1(r.dockerRunS * ANCHORS.engineGoalRatio), label: `≤ ${ANCHORS.engineGoalRatio}× docker run` },
      note: `engine: ${r1(n / r.dockerRunS)} containers/s; Flotilla: ${r1(n / r.flotillaS)} pods/s (a sandbox + an app container each)` },
  ];
  const best = bestConcurrency(r.concurrency ?? []);
  for (const c of r.concurrency ?? []) {
    out.push({ id: `peer.engine.p${c.parallel}`, section: "Docker peer", label: `${r.concurrencyN ?? n} × engine API create + start, ${c.parallel} in parallel`, value: r1(c.seconds), unit: "s", better: "lower",
      note: `${r1((r.concurrencyN ?? n) / c.seconds)} containers/s${c === best ? "; the engine's best measured concurrency" : ""}` });
  }
  return out;
}

export function failoverFigures(r: { mode: "kill" | "stop"; seconds: number }): Figure[] {
  const goal = r.mode === "kill" ? ANCHORS.failoverGoalKillS : ANCHORS.failoverGoalStopS;
  return [
    { id: `failover.${r.mode}`, section: "Node failure", label: `${r.mode === "kill" ? "killed (SIGKILL)" : "frozen (SIGSTOP)"} node → pods Running elsewhere`, value: r.seconds, unit: "s", better: "lower",
      anchor: { value: ANCHORS.kubeFailoverS, label: "Kubernetes with its defaults", published: SOURCES.failover }, goal: { value: goal, label: `≤ ${goal} s` },
      note: "Flotilla with its defaults (docs/node-controller.md) against Kubernetes with its defaults: two configurations, not one" },
  ];
}

export function idleMemoryFigures(r: { engine: string; idleSeconds: number; totalMb: number; parts: Record<string, number> }): Figure[] {
  const parts = Object.entries(r.parts).map(([k, v]) => `${k} ${v} MB`).join(", ");
  return [
    { id: "memory.idle", section: "Memory", label: `whole control plane + 1 node (${r.engine}), idle ${r.idleSeconds} s`, value: r.totalMb, unit: "MB", better: "lower",
      anchor: { value: ANCHORS.k3sIdleMb, label: "k3s server idle", published: SOURCES.k3sIdle }, note: parts },
  ];
}

export function scaleMemoryFigures(r: ScaleMemory): Figure[] {
  const k = (n: number) => n.toLocaleString("en-US");
  const how = r.extrapolated
    ? `EXTRAPOLATED: ${k(r.podsRunning)} pods Running within the time budget measured ${r.measuredMb} MB; linear per-pod slope from ${r.baseMb} MB with no pods`
    : `peak; all ${k(r.podsRunning)} pods Running ${Math.round(r.allRunningSeconds ?? r.seconds)} s after the first create`;
  const peaks = Object.entries(r.peaks ?? {}).map(([name, mb]) => `${name} ${k(mb)} MB`).join(", ");
  return [
    { id: `memory.${r.nodes}.${r.podsTarget}`, section: "Memory", label: `control plane + nats-server, ${k(r.nodes)} simulated nodes / ${k(r.podsTarget)} pods`, value: r.totalMb, unit: "MB", better: "lower",
      extrapolated: r.extrapolated || undefined,
      ...(r.podsTarget >= 150_000 ? { goal: { value: ENVELOPE_MB, label: `≤ ${ENVELOPE_MB / 1024} GiB (Kubernetes' 5,000-node envelope)` } } : {}),
      note: `${how}; peak per process: ${peaks || "not sampled"}; the simulated nodes' own process: ${r.nodesProcessMb} MB${r.maxNotRunning ? `; created with at most ${k(r.maxNotRunning)} pods not yet Running` : ""}${r.nodeLeaseSeconds ? `; node Leases of ${r.nodeLeaseSeconds} s` : ""}${r.leaderLeaseMs ? `; leader-election leases of ${r.leaderLeaseMs / 1000} s${r.leaderLeaseMs === KUBERNETES_LEADER_LEASE_MS ? " (Kubernetes' default)" : ""}` : ""}${r.heapMb ? `; control plane heap limit ${k(r.heapMb)} MB` : ""}${r.retriedCreates ? `; ${k(r.retriedCreates)} creates asked again after a time-out` : ""}` },
  ];
}

export function proxyFigures(r: { direct: { rps: number; p99Ms: number }; proxied: { rps: number; p99Ms: number } }): Figure[] {
  return [
    { id: "proxy.rps", section: "Proxy", label: "requests/s through a Service's ClusterIP", value: r.proxied.rps, unit: "/s", better: "higher", anchor: { value: r.direct.rps, label: "straight to the pod" } },
    { id: "proxy.p99", section: "Proxy", label: "request p99 through a Service's ClusterIP", value: r.proxied.p99Ms, unit: "ms", better: "lower", anchor: { value: r.direct.p99Ms, label: "straight to the pod" } },
  ];
}

export function proxyKernelFigures(r: import("./proxy-kernel.ts").ProxyKernelBench): Figure[] {
  const pod = (value: number) => ({ value, label: "straight to the pod" });
  const note = `pod → pod in network namespaces, ${r.concurrency} keep-alive requests in flight, ${r.pairs} alternating ${r.seconds} s pairs (medians); ClusterIP ÷ pod per pair: ${r.pairRatios.join(", ")}`;
  return [
    { id: "proxy.kernel.rps", section: "Proxy", label: "requests/s through a ClusterIP, kernel mode (iptables)", value: r.clusterIP.rps, unit: "/s", better: "higher", anchor: pod(r.direct.rps), goal: { value: Math.round(r.direct.rps * 0.95), label: "≥ 0.95× straight to the pod" }, note },
    { id: "proxy.kernel.p99", section: "Proxy", label: "request p99 through a ClusterIP, kernel mode", value: r.clusterIP.p99Ms, unit: "ms", better: "lower", anchor: pod(r.direct.p99Ms) },
  ];
}

export function podRoutesFigures(r: import("./pod-routes.ts").PodRoutesBench): Figure[] {
  const hostGw = (value: number) => ({ value, label: "host-gw route, same link" });
  const note = `pod → pod in network namespaces, ${r.concurrency} keep-alive requests in flight, ${r.pairs} alternating ${r.seconds} s pairs (medians); VXLAN ÷ host-gw per pair: ${r.pairRatios.join(", ")}`;
  return [
    { id: "routes.vxlan.rps", section: "Pod network", label: "requests/s between nodes over VXLAN (through a router)", value: r.vxlan.rps, unit: "/s", better: "higher", anchor: hostGw(r.hostGw.rps), note },
    { id: "routes.vxlan.p99", section: "Pod network", label: "request p99 over VXLAN", value: r.vxlan.p99Ms, unit: "ms", better: "lower", anchor: hostGw(r.hostGw.p99Ms) },
    { id: "routes.vxlan.bulk", section: "Pod network", label: "64 MiB download over VXLAN", value: r.vxlan.mbps, unit: "MB/s", better: "higher", anchor: hostGw(r.hostGw.mbps), note: "full-size packets: the cost of encapsulation and the 50 bytes less MTU" },
  ];
}

export function dnsFigures(r: import("./dns.ts").DnsBench): Figure[] {
  const masq = (value: number) => ({ value, label: "dnsmasq, same names from a hosts file" });
  const lost = (a: import("./dns.ts").DnsLoad, b: import("./dns.ts").DnsLoad) => `${a.lost} of the actor's and ${b.lost} of dnsmasq's queries unanswered within 1 s`;
  const how = `${r.names} names over UDP, ${r.client}, at most ${r.inFlight} queries in flight, ${r.seconds} s each`;
  const rate = r.pacedRate.toLocaleString("en-US");
  return [
    { id: "dns.qps", section: "Cluster DNS", label: "A queries/s answered by the dns actor (saturation)", value: r.actor.qps, unit: "/s", better: "higher", anchor: masq(r.dnsmasq.qps), goal: { value: 20_000, label: "≥ 20,000/s" }, note: `${how}; ${lost(r.actor, r.dnsmasq)}` },
    { id: "dns.p99", section: "Cluster DNS", label: `A query p99 at ${rate} queries/s, dns actor`, value: r.pacedActor.p99Ms, unit: "ms", better: "lower", anchor: masq(r.pacedDnsmasq.p99Ms), goal: { value: 3, label: "≤ 3 ms" }, note: `${rate} queries/s offered; ${lost(r.pacedActor, r.pacedDnsmasq)}` },
    { id: "dns.p99.saturated", section: "Cluster DNS", label: "A query p99 at saturation, dns actor", value: r.actor.p99Ms, unit: "ms", better: "lower", anchor: masq(r.dnsmasq.p99Ms) },
  ];
}

export function haFigures(b: import("./ha.ts").HaBench): Figure[] {
  const r1 = { label: "one server (R1)" };
  return [
    { id: "ha.r3.rate", section: "Several servers", label: "store create, 8 in flight, three servers (R3)", value: Math.round(b.r3.perSecond), unit: "/s", better: "higher", anchor: { ...r1, value: Math.round(b.r1.perSecond) } },
    { id: "ha.r3.p99", section: "Several servers", label: "store create p99, three servers (R3)", value: r3(b.r3.p99Ms), unit: "ms", better: "lower", anchor: { ...r1, value: r3(b.r1.p99Ms) } },
    { id: "ha.failover.write", section: "Several servers", label: "SIGKILL of the leading server → first acknowledged write", value: r3(b.firstWriteSeconds), unit: "s", better: "lower", goal: { value: 10, label: "≤ 10 s" } },
    { id: "ha.failover.leaders", section: "Several servers", label: "SIGKILL of the leading server → every actor has a leader", value: r3(b.leadersSeconds), unit: "s", better: "lower", goal: { value: 15, label: "≤ 15 s" } },
  ];
}
