import { expect } from "chai";
import type { Pod, Scale } from "../../../bus/resources.ts";
import type { HorizontalPodAutoscaler } from "../../../bus/hpa.ts";
import type { HpaCommand, HpaView } from "../../../actors/hpa-controller/hpa.ts";
import type { History } from "../../../actors/hpa-controller/behavior.ts";
import { reconcileHpa } from "../../../actors/hpa-controller/hpa.ts";
import { emptyHistory } from "../../../actors/hpa-controller/behavior.ts";
import { samplesOf } from "../../../actors/hpa-controller/index.ts";
import { MetricsCache } from "../../../runtime/metrics-feed.ts";

const NOW = Date.parse("2026-06-01T12:00:00Z");
const iso = (t: number) => new Date(t).toISOString();

function pod(name: string, o: { cpuRequest?: string; ready?: boolean; phase?: string; startedAgoMs?: number } = {}): Pod {
  const started = NOW - (o.startedAgoMs ?? 600_000);
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", uid: `uid-${name}`, labels: { app: "web" } },
    spec: { containers: [{ name: "c", image: "busybox", ...(o.cpuRequest !== null ? { resources: { requests: { cpu: o.cpuRequest ?? "200m", memory: "100Mi" } } } : {}) }] },
    status: { phase: o.phase ?? "Running", startTime: iso(started), conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True", lastTransitionTime: iso(started + 5000) }] },
  } as Pod;
}

function hpa(spec: Partial<HorizontalPodAutoscaler["spec"]> = {}): HorizontalPodAutoscaler {
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name: "web", namespace: "default", uid: "h1", generation: 1 },
    spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" }, minReplicas: 1, maxReplicas: 10, metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } }], ...spec },
  };
}

const scale = (replicas: number): Scale => ({ apiVersion: "autoscaling/v1", kind: "Scale", metadata: { name: "web", namespace: "default" }, spec: { replicas }, status: { replicas, selector: "app=web" } });

/** A fake metrics source: cpu millicores (and memory MiB) per pod, as the kubelets would report them. */
function view(h: HorizontalPodAutoscaler, replicas: number, pods: Pod[], usage: Record<string, number>, history: History = emptyHistory(), memMi: Record<string, number> = {}): HpaView {
  const cache = new MetricsCache(() => NOW);
  cache.put({
    type: "node.metrics",
    node: "n1",
    timestamp: iso(NOW - 1000),
    windowSeconds: 10,
    usage: { cpuNanoCores: 0, memoryWorkingSetBytes: 0 },
    pods: Object.entries(usage).map(([name, m]) => ({ namespace: "default", name, uid: `uid-${name}`, containers: [{ name: "c", cpuNanoCores: m * 1e6, memoryWorkingSetBytes: (memMi[name] ?? 10) * 2 ** 20 }] })),
  });
  return { hpa: h, target: { ok: true, scale: scale(replicas) }, pods, samples: samplesOf(cache, "default", pods), history, syncPeriodMs: 15_000 };
}

const scaledTo = (cs: HpaCommand[]) => cs.find((c): c is Extract<HpaCommand, { type: "scale.update" }> => c.type === "scale.update")?.replicas;
const status = (cs: HpaCommand[]) => cs.find((c): c is Extract<HpaCommand, { type: "hpa.status" }> => c.type === "hpa.status")?.status;
const cond = (cs: HpaCommand[], type: string) => status(cs)?.conditions?.find((c) => c.type === type);
const historyOf = (cs: HpaCommand[]) => cs.find((c): c is Extract<HpaCommand, { type: "hpa.history" }> => c.type === "hpa.history")?.history;

describe("hpa-controller", () => {
  describe("reconcileHpa", () => {
    it("scales up to ceil(current × utilisation / target) and reports the utilisation", () => {
      const { commands, requeueAfterMs } = reconcileHpa("default/web", view(hpa(), 2, [pod("a"), pod("b")], { a: 180, b: 180 }), NOW);
      expect(scaledTo(commands)).to.equal(4); // 90 % of request against 50 % → ratio 1.8 → ceil(3.6)
      const st = status(commands)!;
      expect(st.desiredReplicas).to.equal(4);
      expect(st.currentReplicas).to.equal(2);
      expect(st.currentMetrics).to.deep.equal([{ type: "Resource", resource: { name: "cpu", current: { averageUtilization: 90, averageValue: "180m" } } }]);
      expect(cond(commands, "AbleToScale")).to.include({ status: "True", reason: "SucceededRescale" });
      expect(cond(commands, "ScalingActive")).to.include({ status: "True", reason: "ValidMetricFound" });
      expect(cond(commands, "ScalingLimited")).to.include({ status: "False", reason: "DesiredWithinRange" });
      expect(commands.some((c) => c.type === "hpa.event" && c.reason === "SuccessfulRescale" && /New size: 4; reason: cpu resource utilization \(percentage of request\) above target/.test(c.message))).to.equal(true);
      expect(requeueAfterMs).to.equal(15_000);
    });

    it("does nothing within the 10 % tolerance", () => {
      const { commands } = reconcileHpa("default/web", view(hpa(), 2, [pod("a"), pod("b")], { a: 108, b: 108 }), NOW);
      expect(scaledTo(commands)).to.equal(undefined);
      expect(status(commands)!.desiredReplicas).to.equal(2);
      expect(cond(commands, "AbleToScale")).to.include({ reason: "ReadyForNewScale" });
    });

    it("holds a scale-down for the stabilisation window, then scales down to the proposal", () => {
      const h = hpa({ behavior: { scaleDown: { stabilizationWindowSeconds: 60 } } });
      const pods = [pod("a"), pod("b"), pod("c"), pod("d")];
      const idle = { a: 10, b: 10, c: 10, d: 10 };
      const recent: History = { recommendations: [{ at: NOW - 30_000, replicas: 4 }], events: [] };
      const held = reconcileHpa("default/web", view(h, 4, pods, idle, recent), NOW).commands;
      expect(scaledTo(held)).to.equal(undefined);
      expect(cond(held, "AbleToScale")).to.include({ reason: "ScaleDownStabilized" });
      expect(historyOf(held)!.recommendations.map((r) => r.replicas)).to.deep.equal([4, 1]);
      const old: History = { recommendations: [{ at: NOW - 61_000, replicas: 4 }], events: [] };
      const later = reconcileHpa("default/web", view(h, 4, pods, idle, old), NOW).commands;
      expect(scaledTo(later)).to.equal(1); // 10m of 200m = 5 % against 50 % → ceil(0.1 × 4)
      expect(later.some((c) => c.type === "hpa.event" && /All metrics below target/.test(c.message))).to.equal(true);
    });

    it("stays within minReplicas and maxReplicas and says which bound held", () => {
      const many = reconcileHpa("default/web", view(hpa({ maxReplicas: 3 }), 2, [pod("a"), pod("b")], { a: 400, b: 400 }), NOW).commands;
      expect(scaledTo(many)).to.equal(3);
      expect(cond(many, "ScalingLimited")).to.include({ status: "True", reason: "TooManyReplicas" });
      const few = reconcileHpa("default/web", view(hpa({ minReplicas: 2, behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } }), 3, [pod("a"), pod("b"), pod("c")], { a: 1, b: 1, c: 1 }), NOW).commands;
      expect(scaledTo(few)).to.equal(2);
      expect(cond(few, "ScalingLimited")).to.include({ status: "True", reason: "TooFewReplicas" });
    });

    it("limits a scale-up to max(4 pods, 100 %) per 15 s by default", () => {
      const { commands } = reconcileHpa("default/web", view(hpa({ maxReplicas: 50 }), 1, [pod("a")], { a: 2000 }), NOW);
      expect(scaledTo(commands)).to.equal(5);
      expect(cond(commands, "ScalingLimited")).to.include({ status: "True", reason: "ScaleUpLimit" });
      // Two pods already added within the period count against it.
      const recent: History = { recommendations: [], events: [{ at: NOW - 5000, change: 2 }] };
      expect(scaledTo(reconcileHpa("default/web", view(hpa({ maxReplicas: 50 }), 3, [pod("a"), pod("b"), pod("c")], { a: 2000, b: 2000, c: 2000 }, recent), NOW).commands)).to.equal(5);
    });

    it("counts a pod without metrics as using its full request on a scale-down, so it does not scale down too far", () => {
      const h = hpa({ behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } });
      const pods = [pod("a"), pod("b"), pod("c"), pod("d")];
      // Without c and d the ratio is 0.2; with them at 100 % of request it is (40+40+200+200)/800/0.5 = 1.2 → no scale-down.
      const { commands } = reconcileHpa("default/web", view(h, 4, pods, { a: 40, b: 40 }), NOW);
      expect(scaledTo(commands)).to.equal(undefined);
      expect(status(commands)!.desiredReplicas).to.equal(4);
    });

    it("counts unready and missing pods as idle on a scale-up", () => {
      const pods = [pod("a"), pod("b"), pod("c", { ready: false, startedAgoMs: 10_000 }), pod("d", { phase: "Pending" })];
      // Ready pods alone: 300m of 200m = 150 % → ratio 3. With c and d at 0: (600)/(800) = 75 % → ratio 1.5 → ceil(1.5 × 4) = 6.
      const { commands } = reconcileHpa("default/web", view(hpa(), 4, pods, { a: 300, b: 300, c: 300 }), NOW);
      expect(scaledTo(commands)).to.equal(6);
    });

    it("reports ScalingActive False when a pod has no cpu request or no pod has metrics", () => {
      const noRequest = reconcileHpa("default/web", view(hpa(), 1, [pod("a", { cpuRequest: null as unknown as string })], { a: 100 }), NOW).commands;
      expect(scaledTo(noRequest)).to.equal(undefined);
      expect(cond(noRequest, "ScalingActive")).to.include({ status: "False", reason: "FailedGetResourceMetric" });
      expect(cond(noRequest, "ScalingActive")!.message).to.match(/missing request for cpu/);
      const noMetrics = reconcileHpa("default/web", view(hpa(), 2, [pod("a"), pod("b")], {}), NOW).commands;
      expect(cond(noMetrics, "ScalingActive")).to.include({ status: "False", reason: "FailedGetResourceMetric" });
      expect(noMetrics.some((c) => c.type === "hpa.event" && c.eventType === "Warning")).to.equal(true);
    });

    it("scales on memory with an average value target, taking the highest proposal of several metrics", () => {
      const h = hpa({ metrics: [
        { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } },
        { type: "Resource", resource: { name: "memory", target: { type: "AverageValue", averageValue: "50Mi" } } },
      ] });
      const { commands } = reconcileHpa("default/web", view(h, 2, [pod("a"), pod("b")], { a: 100, b: 100 }, emptyHistory(), { a: 150, b: 150 }), NOW);
      expect(scaledTo(commands)).to.equal(6); // memory 150Mi / 50Mi = 3 → 6; cpu is at target
      expect(status(commands)!.currentMetrics![1]).to.deep.equal({ type: "Resource", resource: { name: "memory", current: { averageValue: String(150 * 2 ** 20) } } });
    });

    it("turns autoscaling off for a target scaled to zero, and brings a target outside min/max back in range", () => {
      const off = reconcileHpa("default/web", view(hpa(), 0, [], {}), NOW).commands;
      expect(scaledTo(off)).to.equal(undefined);
      expect(cond(off, "ScalingActive")).to.include({ status: "False", reason: "ScalingDisabled" });
      expect(scaledTo(reconcileHpa("default/web", view(hpa({ maxReplicas: 3 }), 7, [], {}), NOW).commands)).to.equal(3);
    });

    it("keeps a condition's transition time while its status holds and writes no status when nothing changed", () => {
      const first = reconcileHpa("default/web", view(hpa(), 2, [pod("a"), pod("b")], { a: 100, b: 100 }), NOW).commands;
      const h = { ...hpa(), status: status(first)! };
      const again = reconcileHpa("default/web", view(h, 2, [pod("a"), pod("b")], { a: 100, b: 100 }), NOW + 15_000).commands;
      expect(status(again)).to.equal(undefined);
    });

    it("forgets the history of a deleted HPA", () => {
      expect(reconcileHpa("default/web", { ...view(hpa(), 1, [], {}), hpa: undefined }, NOW).commands).to.deep.equal([{ type: "hpa.history", key: "default/web", history: undefined }]);
    });
  });
});

describe("HorizontalPodAutoscaler admission", () => {
  it("defaults minReplicas to 1 and the metric to 80 % cpu, and refuses maxReplicas below minReplicas", async () => {
    const { admit } = await import("../../../actors/store/admission/index.ts");
    const { resourceType } = await import("../../../bus/kinds.ts");
    const rt = resourceType("horizontalpodautoscalers")!;
    const ctx = { now: () => new Date(NOW), operation: "create" as const };
    const ok = admit(rt, { apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", metadata: { name: "a", namespace: "default" }, spec: { scaleTargetRef: { kind: "Deployment", name: "web" }, maxReplicas: 3 } }, ctx) as HorizontalPodAutoscaler;
    expect(ok.spec.minReplicas).to.equal(1);
    expect(ok.spec.metrics).to.deep.equal([{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } } }]);
    expect(() => admit(rt, { apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", metadata: { name: "a", namespace: "default" }, spec: { scaleTargetRef: { kind: "Deployment", name: "web" }, minReplicas: 4, maxReplicas: 3 } }, ctx)).to.throw(/spec.maxReplicas: Invalid value: 3: must be greater than or equal to `minReplicas`/);
  });
});

describe("HorizontalPodAutoscaler views", () => {
  it("prints targets as kubectl 1.32 does: name, current/target, and how many more", async () => {
    const { formatHpaMetrics } = await import("../../../actors/api-server/table-printers-autoscaling.ts");
    const h = hpa({ metrics: [
      { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } },
      { type: "Resource", resource: { name: "memory", target: { type: "AverageValue", averageValue: "100Mi" } } },
      { type: "Resource", resource: { name: "cpu", target: { type: "AverageValue", averageValue: "1" } } },
    ] });
    expect(formatHpaMetrics(h)).to.equal("cpu: <unknown>/50%, memory: <unknown>/100Mi + 1 more...");
    h.status = { currentReplicas: 1, desiredReplicas: 1, currentMetrics: [{ type: "Resource", resource: { name: "cpu", current: { averageUtilization: 42, averageValue: "84m" } } }] };
    expect(formatHpaMetrics({ ...h, spec: { ...h.spec, metrics: h.spec.metrics!.slice(0, 1) } })).to.equal("cpu: 42%/50%");
    expect(formatHpaMetrics({ ...h, spec: { ...h.spec, metrics: [] } })).to.equal("<none>");
  });

  it("shows a v2 HPA as autoscaling/v1 and reads a v1 one back as v2", async () => {
    const { hpaToV1, hpaFromV1 } = await import("../../../bus/hpa.ts");
    const h = { ...hpa(), status: { currentReplicas: 2, desiredReplicas: 3, currentMetrics: [{ type: "Resource" as const, resource: { name: "cpu", current: { averageUtilization: 77 } } }] } };
    const v1 = hpaToV1(h) as unknown as { apiVersion: string; spec: Record<string, unknown>; status: Record<string, unknown> };
    expect(v1.apiVersion).to.equal("autoscaling/v1");
    expect(v1.spec).to.deep.equal({ scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" }, minReplicas: 1, maxReplicas: 10, targetCPUUtilizationPercentage: 50 });
    expect(v1.status).to.deep.equal({ currentReplicas: 2, desiredReplicas: 3, currentCPUUtilizationPercentage: 77 });
    const back = hpaFromV1(v1 as never);
    expect(back.apiVersion).to.equal("autoscaling/v2");
    expect(back.spec.metrics).to.deep.equal(hpa().spec.metrics);
  });
});
