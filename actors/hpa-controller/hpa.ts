/**
 * One HorizontalPodAutoscaler pass (horizontal.go's reconcileAutoscaler), pure: from the HPA, its
 * target's Scale, the target's pods, their samples and the remembered history → commands.
 *
 * - target replicas 0 with minReplicas > 0: autoscaling is off (ScalingActive False ScalingDisabled);
 * - above maxReplicas / below minReplicas: back into range, whatever the metrics say;
 * - otherwise every metric proposes a count (replicas.ts), the highest wins; a metric that cannot
 *   be computed makes ScalingActive False when none can, and forbids a scale-down when some can't;
 * - the proposal goes through stabilisation, rate limits and min/max (behavior.ts);
 * - a change writes the target's scale subresource and records SuccessfulRescale.
 * Status: currentReplicas, desiredReplicas, currentMetrics, lastScaleTime, conditions AbleToScale,
 * ScalingActive, ScalingLimited (transition times kept while a condition's status holds).
 */
import type { Pod, Scale } from "../../bus/resources.ts";
import type { HorizontalPodAutoscaler, HPACondition, MetricStatus, ResourceMetricName } from "../../bus/hpa.ts";
import type { Decision } from "../../runtime/controller.ts";
import type { History } from "./behavior.ts";
import type { PodSample, Proposal } from "./replicas.ts";
import { DEFAULT_SCALE_DOWN, DEFAULT_SCALE_UP, metricsOf, scalingRules } from "../../bus/hpa.ts";
import { rfc3339 } from "../../bus/time.ts";
import { LIMIT_MESSAGES, LimitReason, normalize } from "./behavior.ts";
import { resourceReplicas } from "./replicas.ts";

export type TargetScale = { ok: true; scale: Scale } | { ok: false; message: string };

export interface HpaView {
  hpa: HorizontalPodAutoscaler | undefined;
  target: TargetScale;
  /** The target's pods (its selector, in the HPA's namespace). */
  pods: Pod[];
  /** Samples by pod name: cpu in millicores, memory in bytes. */
  samples: Record<ResourceMetricName, Map<string, PodSample>>;
  history: History;
  /** How often an HPA is looked at (the controller's sync period). */
  syncPeriodMs: number;
}

export type HpaCommand =
  | { type: "scale.update"; hpa: HorizontalPodAutoscaler; replicas: number }
  | { type: "hpa.status"; hpa: HorizontalPodAutoscaler; status: NonNullable<HorizontalPodAutoscaler["status"]> }
  | { type: "hpa.history"; key: string; history: History | undefined }
  | { type: "hpa.event"; hpa: HorizontalPodAutoscaler; eventType: "Normal" | "Warning"; reason: string; message: string };

const describe = (name: string, utilization: boolean) => `${name} resource${utilization ? " utilization (percentage of request)" : ""}`;

function condition(old: HPACondition[] | undefined, type: HPACondition["type"], status: HPACondition["status"], reason: string, message: string, now: number): HPACondition {
  const prev = old?.find((c) => c.type === type);
  return { type, status, reason, message, lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : rfc3339(now) };
}

function formatValue(resource: ResourceMetricName, v: number): string {
  return resource === "cpu" ? `${Math.round(v)}m` : String(Math.round(v));
}

export function reconcileHpa(key: string, v: HpaView, now: number): Decision<HpaCommand> {
  const hpa = v.hpa;
  if (!hpa || hpa.metadata.deletionTimestamp) return { commands: [{ type: "hpa.history", key, history: undefined }] };
  const old = hpa.status?.conditions;
  const commands: HpaCommand[] = [];
  const event = (eventType: "Normal" | "Warning", reason: string, message: string) => commands.push({ type: "hpa.event", hpa, eventType, reason, message });
  const writeStatus = (status: NonNullable<HorizontalPodAutoscaler["status"]>) => {
    const strip = (s: unknown) => JSON.stringify(s, (k, x) => (k === "lastTransitionTime" ? undefined : x));
    if (!hpa.status || strip(hpa.status) !== strip(status)) commands.push({ type: "hpa.status", hpa, status });
  };
  const requeueAfterMs = v.syncPeriodMs;

  if (!v.target.ok) {
    event("Warning", "FailedGetScale", v.target.message);
    writeStatus({
      ...(hpa.status ?? { currentReplicas: 0, desiredReplicas: 0 }),
      observedGeneration: hpa.metadata.generation,
      conditions: [condition(old, "AbleToScale", "False", "FailedGetScale", `the HPA controller was unable to get the target's current scale: ${v.target.message}`, now)],
    });
    return { commands, requeueAfterMs };
  }
  const current = v.target.scale.spec.replicas ?? 0;
  const min = hpa.spec.minReplicas ?? 1;
  const max = hpa.spec.maxReplicas;
  const conditions: HPACondition[] = [];
  let desired = current;
  let rescaleReason = "";
  let currentMetrics: MetricStatus[] = [];
  let ableToScale: [string, string] = ["SucceededGetScale", "the HPA controller was able to get the target's current scale"];
  let history = v.history;

  if (current === 0 && min !== 0) {
    conditions.push(condition(old, "ScalingActive", "False", "ScalingDisabled", "scaling is disabled since the replica count of the target is zero", now));
  } else if (current > max) {
    desired = max;
    rescaleReason = "Current number of replicas above Spec.MaxReplicas";
  } else if (current < min) {
    desired = min;
    rescaleReason = "Current number of replicas below Spec.MinReplicas";
  } else {
    let best: { replicas: number; metric: string } | undefined;
    let invalid: Extract<Proposal, { ok: false }> | undefined;
    let invalidCount = 0;
    const specs = metricsOf(hpa);
    for (const m of specs) {
      const name = m.resource?.name;
      let p: Proposal;
      if (m.type !== "Resource" || (name !== "cpu" && name !== "memory")) p = { ok: false, reason: "InvalidMetricSourceType", message: `the HPA was unable to compute the replica count: metric type ${m.type}${name ? ` (${name})` : ""} is not supported` };
      else {
        p = resourceReplicas(current, name, m.resource!.target, v.pods, v.samples[name], now);
        if (p.ok) {
          currentMetrics.push({ type: "Resource", resource: { name, current: { ...(p.utilization !== undefined ? { averageUtilization: p.utilization } : {}), averageValue: formatValue(name, p.averageValue) } } });
          if (!best || p.replicas > best.replicas) best = { replicas: p.replicas, metric: describe(name, m.resource!.target.type === "Utilization") };
        }
      }
      if (!p.ok) {
        invalid ??= p;
        invalidCount++;
      }
    }
    if (!best || (invalidCount > 0 && best.replicas < current)) {
      const why = invalid ?? { reason: "FailedGetResourceMetric", message: "invalid metrics" };
      event("Warning", why.reason, why.message);
      conditions.push(condition(old, "ScalingActive", "False", why.reason, `the HPA was unable to compute the replica count: ${why.message}`, now));
      if (!best) currentMetrics = [];
    } else {
      conditions.push(condition(old, "ScalingActive", "True", "ValidMetricFound", `the HPA was able to successfully calculate a replica count from ${best.metric}`, now));
      const n = normalize({
        current,
        proposed: best.replicas,
        min,
        max,
        up: scalingRules(hpa.spec.behavior?.scaleUp, DEFAULT_SCALE_UP),
        down: scalingRules(hpa.spec.behavior?.scaleDown, DEFAULT_SCALE_DOWN),
        history,
        now,
      });
      history = n.history;
      desired = n.replicas;
      conditions.push(condition(old, "ScalingLimited", n.limit === LimitReason.DesiredWithinRange ? "False" : "True", n.limit, LIMIT_MESSAGES[n.limit], now));
      if (desired > current) rescaleReason = `${best.metric} above target`;
      else if (desired < current) rescaleReason = "All metrics below target";
      if (desired === current) {
        ableToScale = n.stabilized === "ScaleDownStabilized"
          ? ["ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation"]
          : n.stabilized === "ScaleUpStabilized"
            ? ["ScaleUpStabilized", "recent recommendations were lower than current one, applying the lowest recent recommendation"]
            : ["ReadyForNewScale", "recommended size matches current size"];
      }
    }
  }

  const rescale = desired !== current;
  let lastScaleTime = hpa.status?.lastScaleTime;
  if (rescale) {
    commands.push({ type: "scale.update", hpa, replicas: desired });
    event("Normal", "SuccessfulRescale", `New size: ${desired}; reason: ${rescaleReason}`);
    history = { ...history, events: [...history.events, { at: now, change: desired - current }] };
    ableToScale = ["SucceededRescale", `the HPA controller was able to update the target scale to ${desired}`];
    lastScaleTime = rfc3339(now);
  }
  if (history !== v.history) commands.push({ type: "hpa.history", key, history });
  const order = ["AbleToScale", "ScalingActive", "ScalingLimited"];
  const all = [condition(old, "AbleToScale", "True", ableToScale[0], ableToScale[1], now), ...conditions];
  for (const c of old ?? []) if (!all.some((x) => x.type === c.type)) all.push(c);
  all.sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
  writeStatus({
    ...(hpa.metadata.generation !== undefined ? { observedGeneration: hpa.metadata.generation } : {}),
    ...(lastScaleTime ? { lastScaleTime } : {}),
    currentReplicas: current,
    desiredReplicas: desired,
    currentMetrics: currentMetrics.length ? currentMetrics : null,
    conditions: all,
  });
  return { commands, requeueAfterMs };
}
