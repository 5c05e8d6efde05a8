/**
 * The CRD controller (leader-elected): when a CustomResourceDefinition is deleted, every object of
 * its kind is deleted, then the CRD itself goes (its `customresourcecleanup` finalizer removed).
 * Names are accepted and the CRD established by the store as it is written (admission/custom.ts).
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: crdController }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { CustomResourceDefinition } from "../../bus/crd.ts";
import type { CleanupCommand, CleanupView } from "./cleanup.ts";
import { match } from "ts-pattern";
import { ErrorCode } from "../../bus/errors.ts";
import { CRD_CLEANUP_FINALIZER } from "../../bus/crd.ts";
import { Informer } from "../../runtime/informer.ts";
import { on, startController, tolerate } from "../../runtime/controller.ts";
import { reconcileCleanup } from "./cleanup.ts";

export async function startCrdController(ctx: ActorContext): Promise<Actor> {
  const crds = new Informer<CustomResourceDefinition>(ctx.nc, ctx.cluster, { resource: "customresourcedefinitions", log: ctx.log });
  const name = (c: CustomResourceDefinition) => c.metadata.name;
  return startController<CleanupView, CleanupCommand>(ctx, {
    component: "crd-controller",
    informers: [crds],
    watches: [on(crds, { add: name, update: (_o, c) => name(c) })],
    async view(key) {
      const crd = crds.get(undefined, key);
      if (!crd?.metadata.deletionTimestamp) return { crd, objects: [] };
      const list = await ctx.store.list(crd.spec.names.plural).catch(() => ({ items: [] }));
      return { crd, objects: list.items };
    },
    objectOf: (v) => v.crd,
    reconcile: (_key, v) => reconcileCleanup(v),
    execute: (c) =>
      match(c)
        .with({ type: "object.delete" }, (c) => tolerate(ctx.store.delete(c.resource, c.namespace, c.name), ErrorCode.NotFound))
        .with({ type: "crd.finalize" }, async (c) => {
          const finalizers = (c.crd.metadata.finalizers ?? []).filter((f) => f !== CRD_CLEANUP_FINALIZER);
          await tolerate(ctx.store.patch("customresourcedefinitions", undefined, c.crd.metadata.name!, "json", [
            { op: "test", path: "/metadata/resourceVersion", value: c.crd.metadata.resourceVersion },
            { op: "replace", path: "/metadata/finalizers", value: finalizers },
          ]), ErrorCode.NotFound);
          ctx.log.info("custom resources cleaned up", { crd: c.crd.metadata.name });
        })
        .exhaustive(),
  });
}

export const crdController: ActorDefinition = {
  kind: "crd-controller",
  leaderElected: true,
  start: (ctx) => startCrdController(ctx),
};
