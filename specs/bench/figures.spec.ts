import { expect } from "chai";
import { storeFigures, dockerPeerFigures, bestConcurrency, scaleMemoryFigures, failoverFigures, schedulerFigures, schedulerGate, dnsFigures } from "../../bench/figures.ts";
import { verdict, ratioOf } from "../../bench/report/format.ts";
import type { SchedulerRuns } from "../../bench/scheduler.ts";

const runs = (nodes: number, shape: "pipeline" | "drain", rates: number[]): SchedulerRuns => {
  const sorted = [...rates].sort((a, b) => a - b);
  const processes = "separate processes: load generator, store ×1, scheduler, nats-server";
  return {
    nodes, pods: 10_000, shape, processes,
    runs: rates.map((podsPerSecond) => ({ nodes, pods: 10_000, shape, processes, podsPerSecond, p50Ms: 1, p99Ms: 2 })),
    min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted[sorted.length - 1]!,
  };
};

describe("bench figures", () => {
  it("puts store creates beside the raw KV put with a goal of at most 1.5× its latency", () => {
    const figs = storeFigures({ n: 10, rows: [{ inFlight: 1, store: { perSecond: 1000, p50Ms: 0.9, p99Ms: 3 }, raw: { perSecond: 2000, p50Ms: 0.5, p99Ms: 2 } }], etcdNote: "no etcd binary" });
    const p99 = figs.find((f) => f.id === "store.c1.p99")!;
    expect(p99.anchor).to.deep.equal({ value: 2, label: "raw KV put" });
    expect(p99.goal!.value).to.equal(3);
    expect(verdict(p99)).to.equal("met");
    expect(verdict(figs.find((f) => f.id === "store.c1.rate")!)).to.equal("missed");
  });
  it("holds the store's create p50 at 1 in flight to the raw put's plus one NATS round trip (0.35 ms)", () => {
    const figs = storeFigures({ n: 10, rows: [{ inFlight: 1, store: { perSecond: 1000, p50Ms: 0.6, p99Ms: 3 }, raw: { perSecond: 2000, p50Ms: 0.26, p99Ms: 2 } }], etcdNote: "no etcd binary" });
    const p50 = figs.find((f) => f.id === "store.c1.p50")!;
    expect(p50.goal).to.deep.equal({ value: 0.61, label: "≤ raw KV + 0.35 ms (one NATS round trip)" });
    expect(verdict(p50)).to.equal("met");
    expect(verdict({ ...p50, value: 0.665 })).to.equal("missed");
  });
  it("holds the dns actor's p99 to 3 ms at the paced 20,000 queries/s, beside dnsmasq's at the same load", () => {
    const load = (qps: number, p99Ms: number) => ({ qps, p99Ms, lost: 0 });
    const figs = dnsFigures({ names: 100, client: "dnsperf 2.10.0", inFlight: 64, seconds: 5, actor: load(40_000, 9), dnsmasq: load(80_000, 1), pacedRate: 20_000, pacedActor: load(19_999, 2.5), pacedDnsmasq: load(20_000, 1.5) });
    const p99 = figs.find((f) => f.id === "dns.p99")!;
    expect(p99.value).to.equal(2.5);
    expect(p99.anchor!.value).to.equal(1.5);
    expect(verdict(p99)).to.equal("met");
    // The saturated p99 is shown, but the goal is not applied to it.
    expect(figs.find((f) => f.id === "dns.p99.saturated")!.goal).to.equal(undefined);
    expect(verdict(figs.find((f) => f.id === "dns.qps")!)).to.equal("met");
    expect(figs.find((f) => f.id === "dns.qps")!.note).to.contain("dnsperf 2.10.0");
  });
  it("marks the etcd comparison as not measured, with the reason, when etcd is absent", () => {
    const figs = storeFigures({ n: 10, rows: [{ inFlight: 64, store: { perSecond: 1, p50Ms: 1, p99Ms: 1 }, raw: { perSecond: 1, p50Ms: 1, p99Ms: 1 } }], etcdNote: "no etcd binary" });
    const etcd = figs.find((f) => f.id === "store.c64.etcd.rate")!;
    expect(etcd.value).to.equal(undefined);
    expect(etcd.note).to.equal("no etcd binary");
  });
  it("compares the Deployment with the like-for-like Swarm (tasks on a bridge) and with 1.2× the engine's own docker run time", () => {
    const figs = dockerPeerFigures({ replicas: 50, flotillaS: 20, dockerRunS: 10, swarm: [{ shape: "none", seconds: 4 }, { shape: "bridge", seconds: 25 }, { shape: "overlay", seconds: 30 }], hostRules: [] });
    const swarm = figs.find((f) => f.id === "peer.vs-swarm")!;
    expect(swarm.anchor!.value).to.equal(25);
    expect(swarm.anchor!.label).to.contain("like for like");
    expect(verdict(swarm)).to.equal("met");
    expect(swarm.note).to.contain("host's iptables mention none");
    const engine = figs.find((f) => f.id === "peer.vs-engine")!;
    expect(engine.goal!.value).to.equal(12);
    expect(ratioOf(engine)).to.equal(2);
  });
  it("shows Swarm without networking and on an overlay beside it, without a goal", () => {
    const figs = dockerPeerFigures({ replicas: 50, flotillaS: 20, dockerRunS: 10, swarm: [{ shape: "none", seconds: 4 }, { shape: "bridge", seconds: 25 }, { shape: "overlay", seconds: 30 }] });
    const none = figs.find((f) => f.id === "peer.vs-swarm-none")!;
    expect(none.anchor!.value).to.equal(4);
    expect(none.goal).to.equal(undefined);
    expect(figs.find((f) => f.id === "peer.vs-swarm-overlay")!.anchor!.value).to.equal(30);
  });
  it("leaves a Swarm figure unmeasured with its note when that Swarm could not run", () => {
    const figs = dockerPeerFigures({ replicas: 50, flotillaS: 20, dockerRunS: 10, swarm: [{ shape: "bridge", note: "Swarm (bridge) skipped: no unshare" }] });
    const swarm = figs.find((f) => f.id === "peer.vs-swarm")!;
    expect(swarm.value).to.equal(undefined);
    expect(swarm.note).to.equal("Swarm (bridge) skipped: no unshare");
    expect(figs.find((f) => f.id === "peer.vs-swarm-overlay")!.value).to.equal(undefined);
  });
  it("reports the engine's create + start time at each parallelism and marks the best one", () => {
    const figs = dockerPeerFigures({ replicas: 50, flotillaS: 20, dockerRunS: 10, swarm: [], concurrencyN: 32, concurrency: [{ parallel: 1, seconds: 8 }, { parallel: 4, seconds: 4 }, { parallel: 16, seconds: 5 }] });
    const rows = figs.filter((f) => f.id.startsWith("peer.engine."));
    expect(rows.map((f) => f.id)).to.deep.equal(["peer.engine.p1", "peer.engine.p4", "peer.engine.p16"]);
    expect(rows[1]!.note).to.contain("best measured");
    expect(rows[0]!.note).to.not.contain("best");
    expect(bestConcurrency([{ parallel: 8, seconds: 3 }, { parallel: 4, seconds: 3 }])!.parallel).to.equal(4);
  });
  it("labels an extrapolated memory figure as such", () => {
    const [f] = scaleMemoryFigures({ nodes: 5000, podsTarget: 150000, podsRunning: 50000, seconds: 240, baseMb: 400, measuredMb: 1400, totalMb: 3400, extrapolated: true, nodesProcessMb: 900, peaks: {}, parts: {} });
    expect(f!.value).to.equal(3400);
    expect(f!.note).to.match(/^EXTRAPOLATED: 50,000 pods Running/);
    // Under 8 GiB, but estimated: the envelope's goal is not met by an estimate.
    expect(verdict(f!)).to.equal("missed");
  });
  it("holds a measured 150,000-pod envelope to 8 GiB at its peak, with each process's own peak and the time to all Running", () => {
    const r = { nodes: 5000, podsTarget: 150000, podsRunning: 150000, seconds: 700, allRunningSeconds: 612.4, baseMb: 400, measuredMb: 4000, totalMb: 4300, extrapolated: false, nodesProcessMb: 900, peaks: { node: 3100, "nats-server": 1200, "simulated nodes (node)": 900 }, parts: {} };
    const [f] = scaleMemoryFigures(r);
    expect(f!.value).to.equal(4300);
    expect(f!.goal!.value).to.equal(8192);
    expect(verdict(f!)).to.equal("met");
    expect(f!.note).to.include("all 150,000 pods Running 612 s after the first create").and.include("nats-server 1,200 MB");
    expect(verdict(scaleMemoryFigures({ ...r, totalMb: 9000 })[0]!)).to.equal("missed");
    expect(scaleMemoryFigures({ ...r, nodes: 1000, podsTarget: 30000, podsRunning: 30000 })[0]!.goal).to.equal(undefined);
  });
  it("holds a frozen node to 15 s and a killed one to 5 s", () => {
    expect(failoverFigures({ mode: "kill", seconds: 6 })[0]!.goal!.value).to.equal(5);
    expect(verdict(failoverFigures({ mode: "stop", seconds: 6 })[0]!)).to.equal("met");
  });
  it("compares the scheduler with scheduler_perf's published threshold only for the same shape", () => {
    expect(schedulerGate(5000, 10_000)).to.include({ value: 680 });
    expect(schedulerGate(5000, 50_000)).to.include({ value: 810 });
    expect(schedulerGate(5000, 10_000)!.published).to.match(/performance-config\.yaml/);
    expect(schedulerGate(1000, 10_000)).to.equal(undefined);
    const small = schedulerFigures(runs(1000, "pipeline", [2000]))[0]!;
    expect(small.anchor).to.equal(undefined);
    expect(small.goal).to.equal(undefined);
    const big = schedulerFigures(runs(5000, "pipeline", [2000]))[0]!;
    expect(big.anchor!.value).to.equal(680);
    expect(big.goal!.value).to.equal(3000);
  });
  it("reports the scheduler's median with the spread of its runs and where each part ran", () => {
    const f = schedulerFigures(runs(5000, "pipeline", [2100, 2500, 1900]))[0]!;
    expect(f.value).to.equal(2100);
    expect(f.note).to.match(/median of 3 runs \(min 1900, max 2500 pods\/s\)/).and.to.match(/separate processes/);
    const d = schedulerFigures(runs(5000, "drain", [4100, 3900, 4500]))[0]!;
    expect(d.value).to.equal(4100);
    expect(d.anchor!.value).to.equal(3750);
    expect(d.anchor!.published).to.match(/C1M/);
    expect(d.goal!.value).to.equal(4000);
  });
  it("states both configurations of the failover comparison and names every published anchor's source", () => {
    const f = failoverFigures({ mode: "kill", seconds: 6 })[0]!;
    expect(f.anchor!.published).to.match(/40 s.*300 s/);
    expect(f.note).to.match(/Flotilla with its defaults/);
  });
});
