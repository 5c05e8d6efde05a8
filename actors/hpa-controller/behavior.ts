/**
 * What the HPA does with a proposal (horizontal.go's normalizeDesiredReplicasWithBehaviors), pure:
 *
 * 1. Stabilisation: every raw proposal is remembered; the count may go down only to the highest
 *    proposal of the scale-down window (default 300 s), and up only to the lowest proposal of the
 *    scale-up window (default 0 s).
 * 2. Rate limits: the policies of the direction (Pods: N pods, Percent: N % per periodSeconds,
 *    counted from the scale events within the period; `selectPolicy` Max picks the policy that
 *    allows the largest change, Min the smallest, Disabled forbids the direction).
 * 3. minReplicas / maxReplicas.
 *
 * The reason says which bound won (`ScalingLimited`): TooManyReplicas, TooFewReplicas,
 * ScaleUpLimit, ScaleDownLimit, or DesiredWithinRange.
 */
import type { HPAScalingRules } from "../../bus/hpa.ts";

export interface Recommendation {
  at: number;
  replicas: number;
}
/** A change of the target's replicas the controller made (positive: up). */
export interface ScaleEvent {
  at: number;
  change: number;
}
export interface History {
  recommendations: Recommendation[];
  events: ScaleEvent[];
}
export const emptyHistory = (): History => ({ recommendations: [], events: [] });

export const LimitReason = {
  TooManyReplicas: "TooManyReplicas",
  TooFewReplicas: "TooFewReplicas",
  ScaleUpLimit: "ScaleUpLimit",
  ScaleDownLimit: "ScaleDownLimit",
  DesiredWithinRange: "DesiredWithinRange",
} as const;
export type LimitReason = (typeof LimitReason)[keyof typeof LimitReason];

export const LIMIT_MESSAGES: Record<LimitReason, string> = {
  TooManyReplicas: "the desired replica count is more than the maximum replica count",
  TooFewReplicas: "the desired replica count is less than the minimum replica count",
  ScaleUpLimit: "the desired replica count is increasing faster than the maximum scale rate",
  ScaleDownLimit: "the desired replica count is decreasing faster than the maximum scale rate",
  DesiredWithinRange: "the desired count is within the acceptable range",
};

export interface NormalizeInput {
  current: number;
  proposed: number;
  min: number;
  max: number;
  up: Required<HPAScalingRules>;
  down: Required<HPAScalingRules>;
  history: History;
  now: number;
}

export interface Normalized {
  replicas: number;
  limit: LimitReason;
  /** The stabilisation window held the count above (down) or below (up) the proposal. */
  stabilized?: "ScaleDownStabilized" | "ScaleUpStabilized";
  /** The history with this proposal recorded and old entries dropped. */
  history: History;
}

function periodStart(current: number, events: ScaleEvent[], periodSeconds: number, now: number): number {
  let added = 0;
  let deleted = 0;
  for (const e of events) {
    if (e.at <= now - periodSeconds * 1000) continue;
    if (e.change > 0) added += e.change;
    else deleted -= e.change;
  }
  return current - added + deleted;
}

export function scaleUpLimit(current: number, events: ScaleEvent[], rules: Required<HPAScalingRules>, now: number): number {
  if (rules.selectPolicy === "Disabled") return current;
  const pick = rules.selectPolicy === "Min" ? Math.min : Math.max;
  let result = rules.selectPolicy === "Min" ? Infinity : -Infinity;
  for (const p of rules.policies) {
    const start = periodStart(current, events, p.periodSeconds, now);
    const proposed = p.type === "Pods" ? start + p.value : Math.ceil(start * (1 + p.value / 100));
    result = pick(result, proposed);
  }
  return Number.isFinite(result) ? result : current;
}

export function scaleDownLimit(current: number, events: ScaleEvent[], rules: Required<HPAScalingRules>, now: number): number {
  if (rules.selectPolicy === "Disabled") return current;
  // Max = the policy allowing the biggest change = the lowest count.
  const pick = rules.selectPolicy === "Min" ? Math.max : Math.min;
  let result = rules.selectPolicy === "Min" ? -Infinity : Infinity;
  for (const p of rules.policies) {
    const start = periodStart(current, events, p.periodSeconds, now);
    const proposed = p.type === "Pods" ? start - p.value : Math.floor(start * (1 - p.value / 100));
    result = pick(result, proposed);
  }
  return Number.isFinite(result) ? result : current;
}

export function normalize(i: NormalizeInput): Normalized {
  const upCutoff = i.now - i.up.stabilizationWindowSeconds * 1000;
  const downCutoff = i.now - i.down.stabilizationWindowSeconds * 1000;
  let upRec = i.proposed;
  let downRec = i.proposed;
  for (const r of i.history.recommendations) {
    if (r.at > upCutoff) upRec = Math.min(upRec, r.replicas);
    if (r.at > downCutoff) downRec = Math.max(downRec, r.replicas);
  }
  let stabilizedCount = i.current;
  if (stabilizedCount < upRec) stabilizedCount = upRec;
  if (stabilizedCount > downRec) stabilizedCount = downRec;
  const stabilized = stabilizedCount !== i.proposed ? (stabilizedCount > i.proposed ? "ScaleDownStabilized" : "ScaleUpStabilized") : undefined;

  const keepFor = Math.max(i.up.stabilizationWindowSeconds, i.down.stabilizationWindowSeconds) * 1000;
  const longestPeriod = Math.max(0, ...i.up.policies.map((p) => p.periodSeconds), ...i.down.policies.map((p) => p.periodSeconds)) * 1000;
  const history: History = {
    recommendations: [...i.history.recommendations.filter((r) => r.at > i.now - keepFor), { at: i.now, replicas: i.proposed }],
    events: i.history.events.filter((e) => e.at > i.now - longestPeriod),
  };

  let lo = i.min;
  let hi = i.max;
  let loReason: LimitReason = LimitReason.TooFewReplicas;
  let hiReason: LimitReason = LimitReason.TooManyReplicas;
  if (stabilizedCount > i.current) {
    const limit = Math.max(i.current, scaleUpLimit(i.current, history.events, i.up, i.now));
    if (limit < hi) {
      hi = limit;
      hiReason = LimitReason.ScaleUpLimit;
    }
  } else if (stabilizedCount < i.current) {
    const limit = Math.min(i.current, scaleDownLimit(i.current, history.events, i.down, i.now));
    if (limit > lo) {
      lo = limit;
      loReason = LimitReason.ScaleDownLimit;
    }
  }
  if (stabilizedCount > hi) return { replicas: hi, limit: hiReason, ...(stabilized ? { stabilized } : {}), history };
  if (stabilizedCount < lo) return { replicas: lo, limit: loReason, ...(stabilized ? { stabilized } : {}), history };
  return { replicas: stabilizedCount, limit: LimitReason.DesiredWithinRange, ...(stabilized ? { stabilized } : {}), history };
}
