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
import { Informer } from "../../runtime/informer.ts";
import { WorkQueue } from "../../runtime/workqueue.ts";
import { ErrorCode, isCode } from "../../bus/errors.ts";
import { decideNamespace, namespacedResources } from "./namespace.ts";

export async function startNamespaceController(ctx: ActorContext): Promise<Actor> {
  const log = ctx.log;
  const namespaces = new Informer<Namespace>(ctx.nc, ctx.cluster, { resource: "namespaces", log: log.child({ informer: "namespaces" }) });
  // No key is worked on before every informer has its initial list: a partial cache would look
  // like missing pods (and make duplicates).
  let markSynced!: () => void;
  const synced = new Promise<void>((r) => (markSynced = r));
  const queue = new WorkQueue(
    async (name) => {
      await synced;

      const ns = namespaces.get(undefined, name);
      if (!ns?.metadata.deletionTimestamp) return;
      const lists = await Promise.all(namespacedResources().map(async (r) => [r, (await ctx.store.list(r, name)).items] as [string, KubeObject[]]));
      const decision = decideNamespace(ns, new Map(lists));
      for (const c of decision.commands) {
        try {
          if (c.type === "delete") await ctx.store.delete(c.resource, c.namespace, c.name, { propagationPolicy: "Background", preconditions: { uid: c.uid } });
          else {
            await ctx.store.update("namespaces", c.namespace);
            log.info("namespace emptied", { namespace: name });
          }
        } catch (e) {
          if (!isCode(e, ErrorCode.NotFound)) throw e;
        }
      }
      if (decision.requeueAfterMs !== undefined) queue.addAfter(name, decision.requeueAfterMs);
    },
    { log, concurrency: 4, baseDelayMs: 100, maxDelayMs: 5000 },
  );
  namespaces.addHandlers({
    add: (n) => queue.add(n.metadata.name!),
    update: (_o, n) => queue.add(n.metadata.name!),
  });
  await namespaces.start();
  markSynced();
  return {
    async stop() {
      namespaces.stop();
      await queue.shutdown();
    },
  };
}

export const namespaceController: ActorDefinition = {
  kind: "namespace-controller",
  leaderElected: true,
  start: (ctx) => startNamespaceController(ctx),
};
export default namespaceController;
