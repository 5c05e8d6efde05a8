/**
 * HorizontalPodAutoscaler (autoscaling/v2, the stored version) and its autoscaling/v1 view, with
 * Kubernetes' defaults: minReplicas 1, and without metrics a cpu target of 80 % of requests.
 * Behaviour defaults (applied by the controller where the spec leaves them out): scale up at once
 * (window 0 s) by at most max(4 pods, 100 %) per 15 s; scale down after a 300 s stabilisation
 * window by at most 100 % per 15 s.
 */
import type { KubeObject } from "./resources.ts";

export type ResourceMetricName = "cpu" | "memory";

export interface MetricTarget {
  type: "Utilization" | "AverageValue" | "Value";
  averageUtilization?: number;
  averageValue?: string;
  value?: string;
}

export interface MetricSpec {
  type: "Resource" | "ContainerResource" | "Pods" | "Object" | "External";
  resource?: { name: string; target: MetricTarget };
  containerResource?: { name: string; container: string; target: MetricTarget };
}

export interface HPAScalingPolicy {
  type: "Pods" | "Percent";
  value: number;
  periodSeconds: number;
}
export interface HPAScalingRules {
  stabilizationWindowSeconds?: number;
  selectPolicy?: "Max" | "Min" | "Disabled";
  policies?: HPAScalingPolicy[];
}

export interface MetricStatus {
  type: "Resource";
  resource: { name: string; current: { averageUtilization?: number; averageValue?: string } };
}

export interface HPACondition {
  type: "AbleToScale" | "ScalingActive" | "ScalingLimited";
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
}

export interface HorizontalPodAutoscaler extends KubeObject {
  spec: {
    scaleTargetRef: { apiVersion?: string; kind: string; name: string };
    minReplicas?: number;
    maxReplicas: number;
    metrics?: MetricSpec[];
    behavior?: { scaleUp?: HPAScalingRules; scaleDown?: HPAScalingRules };
  };
  status?: {
    observedGeneration?: number;
    lastScaleTime?: string;
    currentReplicas: number;
    desiredReplicas: number;
    currentMetrics?: MetricStatus[] | null;
    conditions?: HPACondition[];
  };
}

export const DEFAULT_CPU_UTILIZATION = 80;

export const DEFAULT_SCALE_UP: Required<HPAScalingRules> = {
  stabilizationWindowSeconds: 0,
  selectPolicy: "Max",
  policies: [
    { type: "Pods", value: 4, periodSeconds: 15 },
    { type: "Percent", value: 100, periodSeconds: 15 },
  ],
};
export const DEFAULT_SCALE_DOWN: Required<HPAScalingRules> = {
  stabilizationWindowSeconds: 300,
  selectPolicy: "Max",
  policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
};

/** The rules in force: the spec's, with each missing field from the default. */
export function scalingRules(given: HPAScalingRules | undefined, dflt: Required<HPAScalingRules>): Required<HPAScalingRules> {
  return {
    stabilizationWindowSeconds: given?.stabilizationWindowSeconds ?? dflt.stabilizationWindowSeconds,
    selectPolicy: given?.selectPolicy ?? dflt.selectPolicy,
    policies: given?.policies?.length ? given.policies : dflt.policies,
  };
}

export function metricsOf(h: HorizontalPodAutoscaler): MetricSpec[] {
  return h.spec.metrics?.length ? h.spec.metrics : [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: DEFAULT_CPU_UTILIZATION } } }];
}

/** Storage defaults (create and update): minReplicas and the default cpu metric. */
export function defaultHpa(h: HorizontalPodAutoscaler): void {
  h.spec.minReplicas ??= 1;
  if (!h.spec.metrics?.length) h.spec.metrics = metricsOf(h);
}

/** An autoscaling/v1 HorizontalPodAutoscaler as v2 (cpu utilisation is the only v1 metric). */
export function hpaFromV1(o: KubeObject): HorizontalPodAutoscaler {
  const spec = (o.spec ?? {}) as { scaleTargetRef: HorizontalPodAutoscaler["spec"]["scaleTargetRef"]; minReplicas?: number; maxReplicas: number; targetCPUUtilizationPercentage?: number };
  const { targetCPUUtilizationPercentage: cpu, ...rest } = spec;
  const v2: HorizontalPodAutoscaler = { ...o, apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", spec: { ...rest }, status: undefined };
  delete v2.status;
  if (cpu !== undefined) v2.spec.metrics = [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: cpu } } }];
  const st = o.status as { currentReplicas?: number; desiredReplicas?: number; lastScaleTime?: string; observedGeneration?: number } | undefined;
  if (st) v2.status = { currentReplicas: st.currentReplicas ?? 0, desiredReplicas: st.desiredReplicas ?? 0, ...(st.lastScaleTime ? { lastScaleTime: st.lastScaleTime } : {}), ...(st.observedGeneration !== undefined ? { observedGeneration: st.observedGeneration } : {}) };
  return v2;
}

/** The v1 view of a stored HPA: the cpu utilisation target and current value. */
export function hpaToV1(h: HorizontalPodAutoscaler): KubeObject {
  const cpu = h.spec.metrics?.find((m) => m.type === "Resource" && m.resource?.name === "cpu" && m.resource.target.type === "Utilization");
  const current = h.status?.currentMetrics?.find((m) => m.resource.name === "cpu")?.resource.current.averageUtilization;
  const { metrics: _m, behavior: _b, ...spec } = h.spec;
  return {
    ...h,
    apiVersion: "autoscaling/v1",
    spec: { ...spec, ...(cpu?.resource?.target.averageUtilization !== undefined ? { targetCPUUtilizationPercentage: cpu.resource.target.averageUtilization } : {}) },
    ...(h.status
      ? {
          status: {
            ...(h.status.observedGeneration !== undefined ? { observedGeneration: h.status.observedGeneration } : {}),
            ...(h.status.lastScaleTime ? { lastScaleTime: h.status.lastScaleTime } : {}),
            currentReplicas: h.status.currentReplicas,
            desiredReplicas: h.status.desiredReplicas,
            ...(current !== undefined ? { currentCPUUtilizationPercentage: current } : {}),
          },
        }
      : {}),
  };
}
