/**
 * The replication controller (leader-elected): keeps every ReplicaSet and ReplicationController at
 * its replica count. Informers (pods, replicasets, replicationcontrollers) only enqueue owner keys;
 * each key is reconciled by the pure `reconcile` (replicaset.ts) and its commands are executed
 * through the store with CAS. Expectations stop a slow watch from causing double creates or deletes.
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: replicationController }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { KubeObject, Pod, ReplicaSet, ReplicationController } from "../../bus/resources.ts";
import type { ReplicaResource } from "./owner.ts";
import type { RsCommand, RsControllerView } from "./replicaset.ts";
import { match } from "ts-pattern";
import { Informer } from "../../runtime/informer.ts";
import { on, referenceTo, startController, tolerate } from "../../runtime/controller.ts";
import { ErrorCode, isCode } from "../../bus/errors.ts";
import { matchesSelector } from "../../bus/selectors.ts";
import { controllerRef } from "../../bus/owners.ts";
import { fromReplicaSet, fromReplicationController, ownerKey, parseOwnerKey, resourceOfKind } from "./owner.ts";
import { reconcile, slowStartBatches } from "./replicaset.ts";
import { Expectations } from "./expectations.ts";

export interface ReplicationControllerOptions {
  /** Most pods created or deleted per owner per pass (default 500). */
  burst?: number;
  concurrency?: number;
}

/** The view plus what the executor writes against: the stored owner and its resource. */
type View = RsControllerView & { raw?: KubeObject; resource?: ReplicaResource };

export async function startReplicationController(ctx: ActorContext, opts: ReplicationControllerOptions = {}): Promise<Actor> {
  const informer = <T extends KubeObject>(resource: string) => new Informer<T>(ctx.nc, ctx.cluster, { resource, log: ctx.log.child({ informer: resource }) });
  const pods = informer<Pod>("pods");
  const sets = informer<ReplicaSet>("replicasets");
  const rcs = informer<ReplicationController>("replicationcontrollers");
  const expectations = new Expectations(ctx.now);

  const keyOfRef = (p: Pod): string | undefined => {
    const ref = controllerRef(p);
    const resource = ref && resourceOfKind(ref.kind);
    return resource && ownerKey(resource, p.metadata.namespace!, ref.name);
  };
  /** The owner of a pod, or (an orphan) the owners that could adopt it. */
  const ownersOf = (p: Pod): string[] => {
    const k = keyOfRef(p);
    if (k) return [k];
    if (p.metadata.deletionTimestamp) return [];
    const ns = p.metadata.namespace!;
    return [
      ...sets.list(ns).filter((rs) => matchesSelector(fromReplicaSet(rs).selector, p.metadata.labels)).map((rs) => ownerKey("replicasets", ns, rs.metadata.name!)),
      ...rcs.list(ns).filter((rc) => matchesSelector(fromReplicationController(rc).selector, p.metadata.labels)).map((rc) => ownerKey("replicationcontrollers", ns, rc.metadata.name!)),
    ];
  };
  const ownerWatch = (resource: ReplicaResource) => {
    const key = (o: KubeObject) => ownerKey(resource, o.metadata.namespace!, o.metadata.name!);
    return { add: key, update: (_o: KubeObject, o: KubeObject) => key(o), delete: (o: KubeObject) => (expectations.forget(key(o)), key(o)) };
  };

  return startController<View, RsCommand>(ctx, {
    component: "replicaset-controller",
    informers: [pods, sets, rcs],
    watches: [
      on(pods, {
        add: (p) => {
          const k = keyOfRef(p);
          if (k && p.metadata.deletionTimestamp) expectations.deletionObserved(k, p.metadata.uid!);
          else if (k) expectations.creationObserved(k);
          return ownersOf(p);
        },
        update: (old, cur) => {
          const k = keyOfRef(cur);
          // A pod marked for deletion counts as deleted (the kubelet finishes the job).
          if (k && cur.metadata.deletionTimestamp && !old.metadata.deletionTimestamp) expectations.deletionObserved(k, cur.metadata.uid!);
          return [keyOfRef(old), ...ownersOf(cur)];
        },
        delete: (p) => {
          const k = keyOfRef(p);
          if (k) expectations.deletionObserved(k, p.metadata.uid!);
          return k;
        },
      }),
      on(sets, ownerWatch("replicasets")),
      on(rcs, ownerWatch("replicationcontrollers")),
    ],
    view: (key) => {
      const k = parseOwnerKey(key);
      const raw = k && (k.resource === "replicasets" ? sets.get(k.namespace, k.name) : rcs.get(k.namespace, k.name));
      const owner = raw && (k.resource === "replicasets" ? fromReplicaSet(raw as ReplicaSet) : fromReplicationController(raw as ReplicationController));
      return {
        raw,
        resource: k?.resource,
        owner,
        pods: k ? pods.list(k.namespace) : [],
        expectationsSatisfied: expectations.satisfied(key),
        pendingDeletes: expectations.pendingDeletes(key),
        burst: opts.burst,
      };
    },
    objectOf: (v) => v.raw,
    reconcile,
    execute: (c, { key, view, events }) => {
      const owner = view.raw!;
      const event = (reason: string, message: string) => events.record(referenceTo(owner), "Normal", reason, message);
      return match(c)
        .with({ type: "pod.adopt" }, { type: "pod.release" }, (c) => tolerate(ctx.store.update("pods", c.pod), ErrorCode.NotFound))
        .with({ type: "pods.create" }, async (c) => {
          expectations.expect(key, c.count, []);
          // Slow start: a batch that fails stops the rest, so a broken template costs one error, not hundreds.
          let done = 0;
          for (const size of slowStartBatches(c.count)) {
            const results = await Promise.allSettled(Array.from({ length: size }, () => ctx.store.create("pods", c.namespace, c.pod)));
            for (const r of results) if (r.status === "fulfilled") event("SuccessfulCreate", `Created pod: ${r.value.metadata.name}`);
            const failed = results.filter((r) => r.status === "rejected");
            done += size;
            if (failed.length > 0) {
              expectations.lowerCreates(key, failed.length + (c.count - done));
              ctx.log.warn("pod create failed", { owner: key, failed: failed.length, error: (failed[0]!.reason as Error).message });
              throw failed[0]!.reason;
            }
          }
        })
        .with({ type: "pods.delete" }, async (c) => {
          expectations.expect(key, 0, c.pods.map((p) => p.uid));
          const results = await Promise.allSettled(c.pods.map((p) => ctx.store.delete("pods", c.namespace, p.name, { preconditions: { uid: p.uid } })));
          let first: unknown;
          results.forEach((r, i) => {
            if (r.status === "fulfilled") return event("SuccessfulDelete", `Deleted pod: ${c.pods[i]!.name}`);
            // Already gone (or replaced by a namesake): the deletion will never be observed as ours.
            expectations.deletionObserved(key, c.pods[i]!.uid);
            if (!isCode(r.reason, ErrorCode.NotFound) && !isCode(r.reason, ErrorCode.Conflict)) first ??= r.reason;
          });
          if (first) throw first;
        })
        .with({ type: "replicaset.status" }, (c) => tolerate(ctx.store.updateStatus(view.resource!, { ...owner, status: c.status }), ErrorCode.NotFound))
        .exhaustive();
    },
    failed: (c, e) => (c.type === "pods.create" ? { reason: "FailedCreate", message: `Error creating: ${e.message}` } : undefined),
    concurrency: opts.concurrency ?? 4,
  });
}

export const replicationController: ActorDefinition<ReplicationControllerOptions> = {
  kind: "replication-controller",
  leaderElected: true,
  start: (ctx, opts) => startReplicationController(ctx, opts ?? {}),
};
export default replicationController;
