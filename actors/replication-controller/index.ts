/**
 * The replication controller (leader-elected): keeps every ReplicaSet and ReplicationController at
 * its replica count. Informers (pods, replicasets, replicationcontrollers) only enqueue owner keys;
 * each key is reconciled by the pure `reconcileReplicas` and its commands are executed through the
 * store with CAS. Expectations stop a slow watch from causing double creates or deletes.
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: replicationController }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { KubeObject, Pod, ReplicaSet, ReplicationController } from "../../bus/resources.ts";
import type { ReplicaOwner, ReplicaResource } from "./owner.ts";
import type { RsCommand } from "./replicaset.ts";
import { Informer } from "../../runtime/informer.ts";
import { WorkQueue } from "../../runtime/workqueue.ts";
import { ErrorCode, isCode } from "../../bus/errors.ts";
import { matchesSelector } from "../../bus/selectors.ts";
import { fromReplicaSet, fromReplicationController, ownerKey, parseOwnerKey, resourceOfKind } from "./owner.ts";
import { reconcileReplicas, slowStartBatches } from "./replicaset.ts";
import { controllerRef } from "./pods.ts";
import { Expectations } from "./expectations.ts";
import { recordEvent } from "../../runtime/events.ts";

export interface ReplicationControllerOptions {
  /** Most pods created or deleted per owner per pass (default 500). */
  burst?: number;
  concurrency?: number;
}

export async function startReplicationController(ctx: ActorContext, opts: ReplicationControllerOptions = {}): Promise<Actor> {
  const log = ctx.log;
  const pods = new Informer<Pod>(ctx.nc, ctx.cluster, { resource: "pods", log: log.child({ informer: "pods" }) });
  const sets = new Informer<ReplicaSet>(ctx.nc, ctx.cluster, { resource: "replicasets", log: log.child({ informer: "replicasets" }) });
  const rcs = new Informer<ReplicationController>(ctx.nc, ctx.cluster, { resource: "replicationcontrollers", log: log.child({ informer: "replicationcontrollers" }) });
  const expectations = new Expectations(ctx.now);

  const lookup = (resource: ReplicaResource, ns: string, name: string): { raw: KubeObject; owner: ReplicaOwner } | undefined => {
    if (resource === "replicasets") {
      const rs = sets.get(ns, name);
      return rs && { raw: rs, owner: fromReplicaSet(rs) };
    }
    const rc = rcs.get(ns, name);
    return rc && { raw: rc, owner: fromReplicationController(rc) };
  };

  // No key is worked on before every informer has its initial list: a partial cache would look
  // like missing pods (and make duplicates).
  let markSynced!: () => void;
  const synced = new Promise<void>((r) => (markSynced = r));
  const queue = new WorkQueue(
    async (key) => {
      await synced;
      const k = parseOwnerKey(key);
      if (!k) return;
      const found = lookup(k.resource, k.namespace, k.name);
      if (!found) {
        expectations.forget(key);
        return;
      }
      const decision = reconcileReplicas(found.owner, {
        pods: pods.list(k.namespace),
        expectationsSatisfied: expectations.satisfied(key),
        pendingDeletes: expectations.pendingDeletes(key),
        now: ctx.now(),
        burst: opts.burst,
      });
      if (decision.expect.creates > 0 || decision.expect.deleteUids.length > 0) {
        expectations.expect(key, decision.expect.creates, decision.expect.deleteUids);
      }
      const errors: unknown[] = [];
      for (const c of decision.commands) {
        try {
          await execute(ctx, key, k.resource, found.raw, c, expectations);
        } catch (e) {
          errors.push(e);
        }
      }
      if (errors.length > 0) throw errors[0];
      if (decision.requeueAfterMs !== undefined) queue.addAfter(key, decision.requeueAfterMs);
    },
    { log, concurrency: opts.concurrency ?? 4, baseDelayMs: 50, maxDelayMs: 5000 },
  );

  const keyOfRef = (p: Pod): string | undefined => {
    const ref = controllerRef(p);
    const resource = ref && resourceOfKind(ref.kind);
    return resource && ownerKey(resource, p.metadata.namespace!, ref.name);
  };
  /** Owners that could adopt an orphan pod. */
  const matchingOwners = (p: Pod): string[] => {
    const ns = p.metadata.namespace!;
    const out: string[] = [];
    for (const rs of sets.list(ns)) if (matchesSelector(fromReplicaSet(rs).selector, p.metadata.labels)) out.push(ownerKey("replicasets", ns, rs.metadata.name!));
    for (const rc of rcs.list(ns)) if (matchesSelector(fromReplicationController(rc).selector, p.metadata.labels)) out.push(ownerKey("replicationcontrollers", ns, rc.metadata.name!));
    return out;
  };
  const enqueueFor = (p: Pod) => {
    const k = keyOfRef(p);
    if (k) queue.add(k);
    else if (!p.metadata.deletionTimestamp) matchingOwners(p).forEach((x) => queue.add(x));
  };
  pods.addHandlers({
    add: (p) => {
      const k = keyOfRef(p);
      if (k) {
        if (p.metadata.deletionTimestamp) expectations.deletionObserved(k, p.metadata.uid!);
        else expectations.creationObserved(k);
      }
      enqueueFor(p);
    },
    update: (old, cur) => {
      const k = keyOfRef(cur);
      // A pod marked for deletion counts as deleted (the kubelet finishes the job).
      if (k && cur.metadata.deletionTimestamp && !old.metadata.deletionTimestamp) expectations.deletionObserved(k, cur.metadata.uid!);
      const ok = keyOfRef(old);
      if (ok && ok !== k) queue.add(ok);
      enqueueFor(cur);
    },
    delete: (p) => {
      const k = keyOfRef(p);
      if (k) {
        expectations.deletionObserved(k, p.metadata.uid!);
        queue.add(k);
      }
    },
  });
  const ownerHandlers = (resource: ReplicaResource) => ({
    add: (o: KubeObject) => queue.add(ownerKey(resource, o.metadata.namespace!, o.metadata.name!)),
    update: (_o: KubeObject, o: KubeObject) => queue.add(ownerKey(resource, o.metadata.namespace!, o.metadata.name!)),
    delete: (o: KubeObject) => {
      const key = ownerKey(resource, o.metadata.namespace!, o.metadata.name!);
      expectations.forget(key);
      queue.add(key);
    },
  });
  sets.addHandlers(ownerHandlers("replicasets"));
  rcs.addHandlers(ownerHandlers("replicationcontrollers"));

  await Promise.all([pods.start(), sets.start(), rcs.start()]);
  markSynced();
  log.info("replication controller started", { replicasets: sets.list().length, replicationcontrollers: rcs.list().length });

  return {
    async stop() {
      pods.stop();
      sets.stop();
      rcs.stop();
      await queue.shutdown();
    },
  };
}

async function execute(ctx: ActorContext, key: string, resource: ReplicaResource, raw: KubeObject, c: RsCommand, expectations: Expectations): Promise<void> {
  switch (c.type) {
    case "pod.adopt":
    case "pod.release":
      try {
        await ctx.store.update("pods", c.pod);
      } catch (e) {
        // Gone already: nothing to adopt or release.
        if (!isCode(e, ErrorCode.NotFound)) throw e;
      }
      return;
    case "pods.create": {
      // Slow start: a batch that fails stops the rest, so a broken template costs one error, not hundreds.
      let done = 0;
      for (const size of slowStartBatches(c.count)) {
        const results = await Promise.allSettled(Array.from({ length: size }, () => ctx.store.create("pods", c.namespace, c.pod)));
        for (const r of results) {
          if (r.status === "fulfilled") void ownerEvent(ctx, raw, "Normal", "SuccessfulCreate", `Created pod: ${r.value.metadata.name}`);
        }
        const failed = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
        if (failed.length > 0) void ownerEvent(ctx, raw, "Warning", "FailedCreate", `Error creating: ${(failed[0]!.reason as Error).message}`);
        done += size;
        if (failed.length > 0) {
          expectations.lowerCreates(key, failed.length + (c.count - done));
          ctx.log.warn("pod create failed", { owner: key, failed: failed.length, error: (failed[0]!.reason as Error).message });
          throw failed[0]!.reason;
        }
      }
      return;
    }
    case "pods.delete": {
      const results = await Promise.allSettled(
        c.pods.map((p) => ctx.store.delete("pods", c.namespace, p.name, { preconditions: { uid: p.uid } })),
      );
      let first: unknown;
      results.forEach((r, i) => {
        if (r.status === "fulfilled") {
          void ownerEvent(ctx, raw, "Normal", "SuccessfulDelete", `Deleted pod: ${c.pods[i]!.name}`);
          return;
        }
        // Already gone (or replaced by a namesake): the deletion will never be observed as ours.
        expectations.deletionObserved(key, c.pods[i]!.uid);
        if (!isCode(r.reason, ErrorCode.NotFound) && !isCode(r.reason, ErrorCode.Conflict)) first ??= r.reason;
      });
      if (first) throw first;
      return;
    }
    case "status.update":
      try {
        await ctx.store.updateStatus(resource, { ...raw, status: c.status });
      } catch (e) {
        if (!isCode(e, ErrorCode.NotFound)) throw e;
      }
      return;
  }
}

export const replicationController: ActorDefinition<ReplicationControllerOptions> = {
  kind: "replication-controller",
  leaderElected: true,
  start: (ctx, opts) => startReplicationController(ctx, opts ?? {}),
};
export default replicationController;

/** An Event about the ReplicaSet / ReplicationController itself (what `kubectl describe` shows). */
function ownerEvent(ctx: ActorContext, owner: KubeObject, type: "Normal" | "Warning", reason: string, message: string): Promise<void> {
  const involved = { kind: owner.kind, apiVersion: owner.apiVersion, namespace: owner.metadata.namespace, name: owner.metadata.name, uid: owner.metadata.uid };
  return recordEvent(ctx.store, { involved, type, reason, message, source: { component: "replicaset-controller" } });
}
