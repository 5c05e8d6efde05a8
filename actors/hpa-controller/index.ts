/**
 * The horizontal pod autoscaler controller (leader-elected), as kube-controller-manager's: every
 * HorizontalPodAutoscaler is looked at every `syncPeriodMs` (default 15 s, Kubernetes'
 * `--horizontal-pod-autoscaler-sync-period`) and on every change of itself. A pass reads the
 * target's scale (Deployments, ReplicaSets, StatefulSets, ReplicationControllers), the pods its
 * selector picks, and their usage from the kubelets' metrics reports (runtime/metrics-feed.ts —
 * what metrics-server is to Kubernetes' controller), decides with `reconcileHpa` (hpa.ts) and
 * writes the target's scale subresource and the HPA's status. Recommendations and scale events
 * (for stabilisation and rate limits) are kept in memory, as Kubernetes keeps them: a new leader
 * starts with an empty history.
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: hpaController, opts: { syncPeriodMs: 15_000 } }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { Pod, Scale } from "../../bus/resources.ts";
import type { HorizontalPodAutoscaler, ResourceMetricName } from "../../bus/hpa.ts";
import type { History } from "./behavior.ts";
import type { HpaCommand, HpaView, TargetScale } from "./hpa.ts";
import type { PodSample } from "./replicas.ts";
import type { MetricsSource } from "../../runtime/metrics-feed.ts";
import { match } from "ts-pattern";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { resourceForKind } from "../../bus/kinds.ts";
import { toScale } from "../../bus/scale.ts";
import { parseLabelSelector, matchesRequirements } from "../../bus/selectors.ts";
import { Informer, keyFor } from "../../runtime/informer.ts";
import { on, referenceTo, startController, tolerate } from "../../runtime/controller.ts";
import { startMetricsFeed } from "../../runtime/metrics-feed.ts";
import { emptyHistory } from "./behavior.ts";
import { reconcileHpa } from "./hpa.ts";

export interface HpaControllerOptions {
  /** How often every HPA is looked at (default 15 s). */
  syncPeriodMs?: number;
}

/** cpu (millicores) and memory (bytes) samples of the pods, from the metrics source. */
export function samplesOf(metrics: MetricsSource, namespace: string, pods: Pod[]): Record<ResourceMetricName, Map<string, PodSample>> {
  const cpu = new Map<string, PodSample>();
  const memory = new Map<string, PodSample>();
  for (const p of pods) {
    const m = metrics.pod(namespace, p.metadata.name!);
    if (!m || (m.uid && p.metadata.uid && m.uid !== p.metadata.uid) || m.containers.length === 0) continue;
    const at = Date.parse(m.timestamp);
    const windowMs = m.windowSeconds * 1000;
    cpu.set(p.metadata.name!, { value: m.containers.reduce((a, c) => a + c.cpuNanoCores, 0) / 1e6, timestamp: at, windowMs });
    memory.set(p.metadata.name!, { value: m.containers.reduce((a, c) => a + c.memoryWorkingSetBytes, 0), timestamp: at, windowMs });
  }
  return { cpu, memory };
}

async function targetScale(ctx: ActorContext, hpa: HorizontalPodAutoscaler): Promise<TargetScale & { resource?: string }> {
  const ref = hpa.spec.scaleTargetRef;
  const rt = resourceForKind(ref.kind);
  if (!rt || !rt.subresources.includes("scale")) return { ok: false, message: `the server could not find the requested resource (get ${ref.kind.toLowerCase()}s.scale ${ref.name})` };
  try {
    const o = await ctx.store.get(rt.resource, hpa.metadata.namespace, ref.name);
    return { ok: true, scale: toScale(o), resource: rt.resource };
  } catch (e) {
    if (e instanceof FlotillaError && e.code === ErrorCode.NotFound) return { ok: false, message: `${rt.resource}.${rt.group || "core"} "${ref.name}" not found` };
    throw e;
  }
}

export async function startHpaController(ctx: ActorContext, opts: HpaControllerOptions = {}): Promise<Actor> {
  const syncPeriodMs = opts.syncPeriodMs ?? 15_000;
  const hpas = new Informer<HorizontalPodAutoscaler>(ctx.nc, ctx.cluster, { resource: "horizontalpodautoscalers", log: ctx.log });
  const pods = new Informer<Pod>(ctx.nc, ctx.cluster, { resource: "pods", log: ctx.log });
  const metrics = startMetricsFeed({ nc: ctx.nc, subjects: ctx.subjects, log: ctx.log });
  const histories = new Map<string, History>();
  return startController<HpaView, HpaCommand>(ctx, {
    component: "horizontal-pod-autoscaler",
    informers: [hpas, pods],
    watches: [on(hpas, { add: keyFor, update: (o, h) => (o.metadata.generation !== h.metadata.generation || o.metadata.uid !== h.metadata.uid ? keyFor(h) : undefined), delete: keyFor })],
    async view(key) {
      const [namespace, name] = key.split("/") as [string, string];
      const hpa = hpas.get(namespace, name);
      const base = { hpa, history: histories.get(key) ?? emptyHistory(), syncPeriodMs };
      if (!hpa) return { ...base, target: { ok: false, message: "gone" }, pods: [], samples: { cpu: new Map(), memory: new Map() } };
      const target = await targetScale(ctx, hpa);
      const selector = target.ok ? parseLabelSelector(target.scale.status.selector) : undefined;
      const selected = selector && selector.length > 0 ? pods.list(namespace).filter((p) => matchesRequirements(selector, p.metadata.labels)) : [];
      return { ...base, target, pods: selected, samples: samplesOf(metrics, namespace, selected) };
    },
    objectOf: (v) => v.hpa,
    reconcile: (key, v, now) => reconcileHpa(key, v, now),
    execute: (c, pass) =>
      match(c)
        .with({ type: "scale.update" }, async (c) => {
          const ref = c.hpa.spec.scaleTargetRef;
          const rt = resourceForKind(ref.kind)!;
          const scale: Scale = { apiVersion: "autoscaling/v1", kind: "Scale", metadata: { name: ref.name, namespace: c.hpa.metadata.namespace }, spec: { replicas: c.replicas }, status: { replicas: 0 } };
          await ctx.store.update(rt.resource, scale, { subresource: "scale" });
        })
        .with({ type: "hpa.status" }, (c) => tolerate(ctx.store.updateStatus("horizontalpodautoscalers", { ...c.hpa, status: c.status }), ErrorCode.NotFound))
        .with({ type: "hpa.history" }, async (c) => {
          if (c.history) histories.set(c.key, c.history);
          else histories.delete(c.key);
        })
        .with({ type: "hpa.event" }, async (c) => pass.events.record(referenceTo(c.hpa), c.eventType, c.reason, c.message))
        .exhaustive(),
    stop: () => metrics.stop(),
  });
}

export const hpaController: ActorDefinition<HpaControllerOptions> = {
  kind: "hpa-controller",
  leaderElected: true,
  start: (ctx, opts) => startHpaController(ctx, opts ?? {}),
};
