/**
 * The DaemonSet controller (leader-elected, on runtime/controller.ts): informers on daemonsets,
 * nodes, pods and controllerrevisions only enqueue DaemonSet keys (a node change enqueues every
 * DaemonSet); `reconcileDaemonSet` (daemonset.ts) decides; this file executes through the store.
 * Daemon pods are created unbound with a `metadata.name` node affinity and placed by the scheduler.
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: daemonSetController }, { def: scheduler }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { ControllerRevision, DaemonSet, KubeObject, Node, Pod } from "../../bus/resources.ts";
import type { Executed } from "../../runtime/controller.ts";
import type { DsCommand, DsView } from "./daemonset.ts";
import { match } from "ts-pattern";
import { Informer, keyFor, splitKey } from "../../runtime/informer.ts";
import { on, referenceTo, startController, tolerate } from "../../runtime/controller.ts";
import { ErrorCode, isCode } from "../../bus/errors.ts";
import { matchesSelector } from "../../bus/selectors.ts";
import { controllerRef } from "../../bus/owners.ts";
import { Expectations } from "../replication-controller/expectations.ts";
import { createRevision } from "../workloads/revision-writes.ts";
import { createPods, deletePods } from "../workloads/pod-writes.ts";
import { reconcileDaemonSet } from "./daemonset.ts";

export interface DaemonSetControllerOptions {
  concurrency?: number;
  /** First back-off before a failed daemon pod on a node is replaced again (doubles to 15 min; default 1 s). */
  failedPodBackoffMs?: number;
}

const AGAIN_MS = 100;
const MAX_BACKOFF_MS = 15 * 60_000;

export async function startDaemonSetController(ctx: ActorContext, opts: DaemonSetControllerOptions = {}): Promise<Actor> {
  const informer = <T extends KubeObject>(resource: string) => new Informer<T>(ctx.nc, ctx.cluster, { resource, log: ctx.log.child({ informer: resource }) });
  const sets = informer<DaemonSet>("daemonsets");
  const nodes = informer<Node>("nodes");
  const pods = informer<Pod>("pods");
  const revisions = informer<ControllerRevision>("controllerrevisions");
  const expectations = new Expectations(ctx.now);
  /** `<ns>/<ds>|<node>` → the current back-off and until when it holds. */
  const backoff = new Map<string, { delay: number; until: number }>();

  const ownerKey = (o: KubeObject): string | undefined => {
    const ref = controllerRef(o);
    return ref?.kind === "DaemonSet" ? `${o.metadata.namespace}/${ref.name}` : undefined;
  };
  /** The DaemonSet of a pod, or (an orphan) those that could adopt it. */
  const setsOf = (p: Pod): string[] => {
    const k = ownerKey(p);
    if (k) return [k];
    if (p.metadata.deletionTimestamp) return [];
    return sets.list(p.metadata.namespace).filter((d) => matchesSelector(d.spec.selector, p.metadata.labels)).map(keyFor);
  };
  const everySet = () => sets.list().map(keyFor);

  return startController<DsView, DsCommand>(ctx, {
    component: "daemonset-controller",
    informers: [sets, nodes, pods, revisions],
    watches: [
      on(sets, { add: keyFor, update: (_o, d) => keyFor(d), delete: (d) => (expectations.forget(keyFor(d)), keyFor(d)) }),
      on(nodes, { add: everySet, update: everySet, delete: everySet }),
      on(pods, {
        add: (p) => {
          const k = ownerKey(p);
          if (k && p.metadata.deletionTimestamp) expectations.deletionObserved(k, p.metadata.uid!);
          else if (k) expectations.creationObserved(k);
          return setsOf(p);
        },
        update: (old, cur) => {
          const k = ownerKey(cur);
          if (k && cur.metadata.deletionTimestamp && !old.metadata.deletionTimestamp) expectations.deletionObserved(k, cur.metadata.uid!);
          return [ownerKey(old), ...setsOf(cur)];
        },
        delete: (p) => {
          const k = ownerKey(p);
          if (k) expectations.deletionObserved(k, p.metadata.uid!);
          return k;
        },
      }),
      on(revisions, { add: ownerKey, update: (_o, r) => ownerKey(r), delete: ownerKey }),
    ],
    view: (key) => {
      const { namespace, name } = splitKey(key);
      const backoffUntil = new Map<string, number>();
      for (const [k, b] of backoff) if (k.startsWith(`${key}|`)) backoffUntil.set(k.slice(key.length + 1), b.until);
      return {
        ds: sets.get(namespace, name),
        nodes: nodes.list(),
        pods: pods.list(namespace),
        revisions: revisions.list(namespace),
        expectationsSatisfied: expectations.satisfied(key),
        backoffUntil,
      };
    },
    objectOf: (v) => v.ds,
    reconcile: reconcileDaemonSet,
    execute: (c, { key, view, events }): Promise<Executed<DsView> | void> => {
      const ds = view.ds!;
      const ns = ds.metadata.namespace!;
      const writes = { store: ctx.store, events, owner: ds, expectations: { key, of: expectations } };
      return match(c)
        .with({ type: "revision.create" }, async (c): Promise<Executed<DsView> | void> => {
          const r = await createRevision(ctx.store, "daemonsets", ds, c.revision);
          if (r.again) return { ...(r.owner ? { view: { ...view, ds: r.owner } } : {}), requeueAfterMs: AGAIN_MS };
        })
        .with({ type: "revision.update" }, (c) => tolerate(ctx.store.update("controllerrevisions", c.revision), ErrorCode.NotFound))
        .with({ type: "revision.delete" }, (c) =>
          tolerate(ctx.store.delete("controllerrevisions", c.namespace, c.name, { preconditions: { uid: c.uid } }), ErrorCode.NotFound, ErrorCode.Conflict),
        )
        .with({ type: "expectations.set" }, async (c) => expectations.expect(key, c.creates, c.deleteUids))
        .with({ type: "pod.adopt" }, { type: "pod.release" }, (c) => tolerate(ctx.store.update("pods", c.pod), ErrorCode.NotFound))
        .with({ type: "pods.create" }, async (c) => void (await createPods(writes, c.namespace, c.pods)))
        .with({ type: "pods.delete" }, (c) => deletePods(writes, c.namespace, c.pods))
        .with({ type: "node.backoff" }, async (c) => {
          const k = `${key}|${c.node}`;
          const delay = Math.min(MAX_BACKOFF_MS, (backoff.get(k)?.delay ?? (opts.failedPodBackoffMs ?? 1000) / 2) * 2);
          backoff.set(k, { delay, until: ctx.now() + delay });
        })
        .with({ type: "event.record" }, async (c) => events.record(referenceTo(ds), c.eventType, c.reason, c.message))
        .with({ type: "daemonset.status" }, async (c) => {
          try {
            return { view: { ...view, ds: await ctx.store.updateStatus<DaemonSet>("daemonsets", { ...ds, status: c.status }) } };
          } catch (e) {
            if (!isCode(e, ErrorCode.NotFound)) throw e;
          }
        })
        .exhaustive();
    },
    failed: (c, e) => (c.type === "pods.create" ? { reason: "FailedCreate", message: `Error creating: ${e.message}` } : undefined),
    concurrency: opts.concurrency ?? 4,
  });
}

export const daemonSetController: ActorDefinition<DaemonSetControllerOptions> = {
  kind: "daemonset-controller",
  leaderElected: true,
  start: (ctx, opts) => startDaemonSetController(ctx, opts ?? {}),
};
export default daemonSetController;
