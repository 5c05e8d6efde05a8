/**
 * The garbage collector (leader-elected): one informer per resource type of the registry, indexed by
 * uid and by owner uid, form the ownership graph. Keys (`<resource>|<ns>/<name>`) go through
 * `reconcile` (object.ts); deletes of dependents whose owners look gone are verified against the store first
 * (the owner may simply not have reached this cache yet).
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: garbageCollector }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { KubeObject } from "../../bus/resources.ts";
import type { GcCommand, GcNode, GcView, GraphView, OwnerRef } from "./object.ts";
import { match } from "ts-pattern";
import { Informer, keyFor, splitKey } from "../../runtime/informer.ts";
import { on, startController, tolerate } from "../../runtime/controller.ts";
import { ErrorCode, isCode } from "../../bus/errors.ts";
import { RESOURCE_TYPES, resourceForKind } from "../../bus/kinds.ts";
import { reconcile } from "./object.ts";

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

  const dependentKeys = (uid: string | undefined) => (uid ? graph.dependentsOf(uid).map((d) => gcKey(d.resource, d.object)) : []);
  const deletingOwnerKeys = (o: KubeObject) =>
    (o.metadata.ownerReferences ?? []).map((r) => graph.byUid(r.uid)).filter((n) => n?.object.metadata.deletionTimestamp).map((n) => gcKey(n!.resource, n!.object));
  const involved = (o: KubeObject) => !!(o.metadata.ownerReferences?.length || o.metadata.deletionTimestamp);
  const watches = [...informers].map(([resource, inf]) =>
    on(inf, {
      add: (o) => involved(o) && gcKey(resource, o),
      update: (old, o) => [
        ...(involved(o) ? [gcKey(resource, o)] : []),
        ...(o.metadata.deletionTimestamp && !old.metadata.deletionTimestamp ? dependentKeys(o.metadata.uid) : []),
        ...deletingOwnerKeys(old),
      ],
      delete: (o) => [...dependentKeys(o.metadata.uid), ...deletingOwnerKeys(o)],
    }),
  );

  const controller = await startController<GcView, GcCommand>(ctx, {
    component: "garbage-collector",
    informers: [...informers.values()],
    watches,
    view: (key) => {
      const bar = key.indexOf("|");
      const resource = key.slice(0, bar);
      const { namespace, name } = splitKey(key.slice(bar + 1));
      const object = informers.get(resource)?.get(namespace, name);
      return { node: object && { resource, object }, graph };
    },
    objectOf: (v) => v.node?.object,
    reconcile,
    execute: (c) =>
      match(c)
        .with({ type: "object.delete" }, async (c) => {
          if (!(await allGone(ctx, c.verifyGone))) return;
          ctx.log.debug("deleting dependent", { ...c.target, propagationPolicy: c.propagationPolicy });
          const { resource, namespace, name, uid } = c.target;
          await tolerate(ctx.store.delete(resource, namespace, name, { propagationPolicy: c.propagationPolicy, preconditions: { uid } }), ErrorCode.NotFound);
        })
        .with({ type: "object.drop-owner-refs" }, async (c) => {
          if (await allGone(ctx, c.verifyGone)) await tolerate(ctx.store.update(c.resource, c.object), ErrorCode.NotFound);
        })
        .with({ type: "object.finalize" }, (c) => tolerate(ctx.store.update(c.resource, c.object), ErrorCode.NotFound))
        .exhaustive(),
    concurrency: opts.concurrency ?? 8,
  });
  log.info("garbage collector started", { resources: resources.length });
  return controller;
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

async function allGone(ctx: ActorContext, owners: readonly OwnerRef[]): Promise<boolean> {
  for (const o of owners) if (!(await ownerGone(ctx, o))) return false;
  return true;
}

export const garbageCollector: ActorDefinition<GarbageCollectorOptions> = {
  kind: "garbage-collector",
  leaderElected: true,
  start: (ctx, opts) => startGarbageCollector(ctx, opts ?? {}),
};
export default garbageCollector;
