import { expect } from "chai";
import { buildReport, hostSample, nanoCores } from "../../../actors/kubelet/metrics.ts";
import { usageOfDockerStats } from "../../../actors/kubelet/engines/docker-stats.ts";
import { MetricsCache } from "../../../runtime/metrics-feed.ts";
import { decodeNodeMetricsReport } from "../../../bus/metrics.ts";

const pod = { uid: "u1", namespace: "default", name: "web" };
const c = (id: string, at: number, cpuUsageNanos: number, mem = 1000) => ({ id, pod, name: "app", cpuUsageNanos, memoryWorkingSetBytes: mem, at });

describe("kubelet metrics", () => {
  it("turns two cumulative cpu samples into nanocores", () => {
    expect(nanoCores({ at: 0, cpuNanos: 0 }, { at: 2000, cpuNanos: 1e9 })).to.equal(5e8);
    expect(nanoCores(undefined, { at: 1, cpuNanos: 1 })).to.equal(undefined);
    // A counter that went down (container restarted under the same id) has no rate.
    expect(nanoCores({ at: 0, cpuNanos: 10 }, { at: 1000, cpuNanos: 5 })).to.equal(undefined);
  });

  it("reports only containers seen in both samples, grouped by pod, and sums them for a node without host numbers", () => {
    const r = buildReport("n1", { node: undefined, containers: [c("a", 0, 0)] }, { node: undefined, containers: [c("a", 1000, 2.5e8, 4096), c("b", 1000, 9e9)] })!;
    expect(r.pods).to.deep.equal([{ namespace: "default", name: "web", uid: "u1", containers: [{ name: "app", cpuNanoCores: 2.5e8, memoryWorkingSetBytes: 4096 }] }]);
    expect(r.usage).to.deep.equal({ cpuNanoCores: 2.5e8, memoryWorkingSetBytes: 4096 });
    expect(r.windowSeconds).to.equal(1);
    expect(decodeNodeMetricsReport(JSON.parse(JSON.stringify(r)))).to.deep.equal(r);
  });

  it("reads the host's busy cpu time from /proc/stat and its used memory from /proc/meminfo", () => {
    const s = hostSample("cpu  100 0 50 1000 20 0 0 0 0 0\ncpu0 1 2 3 4\n", "MemTotal:  1000 kB\nMemFree: 100 kB\nMemAvailable:   600 kB\n", 5)!;
    expect(s).to.deep.equal({ at: 5, cpuNanos: 150 * 10_000_000, memoryWorkingSetBytes: 400 * 1024 });
  });

  it("takes the working set from docker stats as usage minus inactive file pages", () => {
    expect(usageOfDockerStats({ cpu_stats: { cpu_usage: { total_usage: 42 } }, memory_stats: { usage: 10_000, stats: { total_inactive_file: 4000 } } })).to.deep.equal({ cpuUsageNanos: 42, memoryWorkingSetBytes: 6000 });
    expect(usageOfDockerStats({ memory_stats: {} })).to.equal(undefined);
  });

  it("forgets a node whose last report is older than the maximum age", () => {
    let now = 0;
    const cache = new MetricsCache(() => now, 60_000);
    cache.put({ type: "node.metrics", node: "n1", timestamp: "2026-01-01T00:00:00Z", windowSeconds: 10, usage: { cpuNanoCores: 1, memoryWorkingSetBytes: 1 }, pods: [{ namespace: "a", name: "p", uid: "u", containers: [] }] });
    expect(cache.pod("a", "p")?.node).to.equal("n1");
    now = 61_000;
    expect(cache.nodes()).to.deep.equal([]);
    expect(cache.pod("a", "p")).to.equal(undefined);
  });

  it("refuses a malformed report", () => {
    expect(() => decodeNodeMetricsReport({ type: "node.metrics", node: "n", timestamp: "x", windowSeconds: 1, usage: {}, pods: [] })).to.throw(/metrics report/);
  });
});

describe("simulated engine usage", () => {
  it("reports half the cpu request and half the memory limit of a running container, steadily", async () => {
    const { SimulatedEngine } = await import("../../../actors/kubelet/engines/simulated.ts");
    const e = new SimulatedEngine();
    const sb = await e.ensureSandbox({ uid: "u", namespace: "default", name: "p" });
    await e.startContainer(sb, { name: "c", image: "i", env: {}, ports: [], imagePullPolicy: "Never", init: false, attempt: 0, cpuRequestMillis: 200, memoryBytes: 64 * 2 ** 20 }, "id");
    const [a] = await e.stats();
    await new Promise((r) => setTimeout(r, 50));
    const [b] = await e.stats();
    expect(b!.memoryWorkingSetBytes).to.equal(32 * 2 ** 20);
    const rate = nanoCores({ at: a!.at, cpuNanos: a!.cpuUsageNanos }, { at: b!.at, cpuNanos: b!.cpuUsageNanos })!;
    expect(rate).to.be.closeTo(100e6, 5e6);
    await e.close();
  });
});
