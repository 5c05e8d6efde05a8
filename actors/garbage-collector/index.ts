/**
 * The garbage collector (leader-elected): one informer per resource type of the registry, indexed by
 * uid and by owner uid, form the ownership graph. Keys (`<resource>|<ns>/<name>`) go through
 * `decideGc`; deletes of dependents whose owners look gone are verified against the store first
 * (the owner may simply not have reached this cache yet).
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: garbageCollector }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { KubeObject } from "../../bus/resources.ts";
import type { GcCommand, GcNode, GraphView, OwnerRef } from "./gc.ts";
import { Informer, keyFor, splitKey } from "../../runtime/informer.ts";
import { WorkQueue } from "../../runtime/workqueue.ts";
import { ErrorCode, isCode } from "../../bus/errors.ts";
import { RESOURCE_TYPES, resourceForKind } from "../../bus/kinds.ts";
import { decideGc } from "./gc.ts";

export interface GarbageCollectorOptions {
  /** Resource types to watch (default: every type of the registry except events). */
  resources?: string[];
  concurrency?: number;
}

const gcKey = (resource: string, o: KubeObject) => `${resource}|${keyFor(o)}`;

export async function startGarbageCollector(ctx: ActorContext, opts: GarbageCollectorOptions = {}): Promise<Actor> {
  const log = ctx.log;
  const resources = opts.resources ?? RESOURCE_TYPES.filter((r) => r.resource !== "events").map((r) => r.resource);
  const informers = new Map(
    resources.map((resource) => [
      resource,
      new Informer<KubeObject>(ctx.nc, ctx.cluster, {
        resource,
        log: log.child({ informer: resource }),
        indexers: {
          uid: (o) => (o.metadata.uid ? [o.metadata.uid] : []),
          owner: (o) => (o.metadata.ownerReferences ?? []).map((r) => r.uid),
        },
      }),
    ]),
  );
  const graph: GraphView = {
    byUid(uid) {
      for (const [resource, inf] of informers) {
        const o = inf.byIndex("uid", uid)[0];
        if (o) return { resource, object: o };
      }
      return undefined;
    },
    dependentsOf(uid) {
      const out: GcNode[] = [];
      for (const [resource, inf] of informers) for (const o of inf.byIndex("owner", uid)) out.push({ resource, object: o });
      return out;
    },
  };

  // No key is worked on before every informer has its initial list: a partial cache would look
  // like missing pods (and make duplicates).
  let markSynced!: () => void;
  const synced = new Promise<void>((r) => (markSynced = r));
  const queue = new WorkQueue(
    async (key) => {
      await synced;
      const bar = key.indexOf("|");
      const resource = key.slice(0, bar);
      const { namespace, name } = splitKey(key.slice(bar + 1));
      const o = informers.get(resource)?.get(namespace, name);
      if (!o) return;
      for (const c of decideGc({ resource, object: o }, graph)) await execute(ctx, c);
    },
    { log, concurrency: opts.concurrency ?? 8, baseDelayMs: 50, maxDelayMs: 5000 },
  );

  const enqueueDependents = (uid: string | undefined) => {
    if (uid) for (const d of graph.dependentsOf(uid)) queue.add(gcKey(d.resource, d.object));
  };
  const enqueueOwners = (o: KubeObject) => {
    for (const r of o.metadata.ownerReferences ?? []) {
      const owner = graph.byUid(r.uid);
      if (owner?.object.metadata.deletionTimestamp) queue.add(gcKey(owner.resource, owner.object));
    }
  };
  for (const [resource, inf] of informers) {
    inf.addHandlers({
      add: (o) => {
        if (o.metadata.ownerReferences?.length || o.metadata.deletionTimestamp) queue.add(gcKey(resource, o));
      },
      update: (old, o) => {
        if (o.metadata.ownerReferences?.length || o.metadata.deletionTimestamp) queue.add(gcKey(resource, o));
        if (o.metadata.deletionTimestamp && !old.metadata.deletionTimestamp) enqueueDependents(o.metadata.uid);
        enqueueOwners(old);
      },
      delete: (o) => {
        enqueueDependents(o.metadata.uid);
        enqueueOwners(o);
      },
    });
  }
  await Promise.all([...informers.values()].map((i) => i.start()));
  markSynced();
  log.info("garbage collector started", { resources: resources.length });
  return {
    async stop() {
      for (const i of informers.values()) i.stop();
      await queue.shutdown();
    },
  };
}

/** Is the owner really gone? Ask the store: absent, or a namesake with another uid. */
async function ownerGone(ctx: ActorContext, o: OwnerRef): Promise<boolean> {
  const rt = resourceForKind(o.ref.kind);
  if (!rt) return false; // An owner of a kind we do not serve: never collect on its account.
  try {
    const cur = await ctx.store.get(rt.resource, rt.namespaced ? o.namespace : undefined, o.ref.name);
    return cur.metadata.uid !== o.ref.uid;
  } catch (e) {
    if (isCode(e, ErrorCode.NotFound)) return true;
    throw e;
  }
}

async function execute(ctx: ActorContext, c: GcCommand): Promise<void> {
  if (c.type !== "remove-finalizer") {
    for (const o of c.verifyGone) if (!(await ownerGone(ctx, o))) return;
  }
  try {
    switch (c.type) {
      case "delete":
        ctx.log.debug("deleting dependent", { ...c.target, propagationPolicy: c.propagationPolicy });
        await ctx.store.delete(c.target.resource, c.target.namespace, c.target.name, { propagationPolicy: c.propagationPolicy, preconditions: { uid: c.target.uid } });
        return;
      case "drop-owner-refs":
      case "remove-finalizer":
        await ctx.store.update(c.resource, c.object);
        return;
    }
  } catch (e) {
    if (isCode(e, ErrorCode.NotFound)) return;
    throw e;
  }
}

export const garbageCollector: ActorDefinition<GarbageCollectorOptions> = {
  kind: "garbage-collector",
  leaderElected: true,
  start: (ctx, opts) => startGarbageCollector(ctx, opts ?? {}),
};
export default garbageCollector;
