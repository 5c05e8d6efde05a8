/**
 * The namespace controller (leader-elected): for a namespace marked for deletion (the store sets
 * deletionTimestamp, phase Terminating and spec.finalizers ["kubernetes"]) it lists every namespaced
 * type of the registry, deletes what is there, and once the namespace is empty removes the
 * `kubernetes` finalizer so the store removes the namespace itself.
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: namespaceController }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { KubeObject, Namespace } from "../../bus/resources.ts";
import type { NsCommand, NsView } from "./namespace.ts";
import type { CustomResourceDefinition } from "../../bus/crd.ts";
import { customTypeOf } from "../../bus/crd.ts";
import { match } from "ts-pattern";
import { Informer } from "../../runtime/informer.ts";
import { on, startController, tolerate } from "../../runtime/controller.ts";
import { ErrorCode } from "../../bus/errors.ts";
import { namespacedResources, reconcile } from "./namespace.ts";

export async function startNamespaceController(ctx: ActorContext): Promise<Actor> {
  const namespaces = new Informer<Namespace>(ctx.nc, ctx.cluster, { resource: "namespaces", log: ctx.log.child({ informer: "namespaces" }) });
  const name = (n: Namespace) => n.metadata.name;
  return startController<NsView, NsCommand>(ctx, {
    component: "namespace-controller",
    informers: [namespaces],
    watches: [on(namespaces, { add: name, update: (_o, n) => name(n) })],
    // Contents are listed through the store (not cached), and only for a terminating namespace.
    view: async (key) => {
      const namespace = namespaces.get(undefined, key);
      if (!namespace?.metadata.deletionTimestamp) return { namespace, contents: new Map() };
      // The namespaced kinds CRDs serve go too.
      const crds = (await ctx.store.list<CustomResourceDefinition>("customresourcedefinitions")).items;
      const custom = crds.filter((c) => c.spec.scope === "Namespaced" && customTypeOf(c)).map((c) => c.spec.names.plural);
      const lists = await Promise.all(
        [...namespacedResources(), ...custom].map(async (r) => [r, await ctx.store.list(r, key).then((l) => l.items, (e) => (custom.includes(r) ? [] : Promise.reject(e)))] as [string, KubeObject[]]),
      );
      return { namespace, contents: new Map(lists) };
    },
    objectOf: (v) => v.namespace,
    reconcile,
    execute: (c) =>
      match(c)
        .with({ type: "object.delete" }, (c) =>
          tolerate(ctx.store.delete(c.resource, c.namespace, c.name, { propagationPolicy: "Background", preconditions: { uid: c.uid } }), ErrorCode.NotFound),
        )
        .with({ type: "namespace.finalize" }, (c) =>
          tolerate(ctx.store.update("namespaces", c.namespace).then(() => ctx.log.info("namespace emptied", { namespace: c.namespace.metadata.name })), ErrorCode.NotFound),
        )
        .exhaustive(),
    baseDelayMs: 100,
  });
}

export const namespaceController: ActorDefinition = {
  kind: "namespace-controller",
  leaderElected: true,
  start: (ctx) => startNamespaceController(ctx),
};
export default namespaceController;
