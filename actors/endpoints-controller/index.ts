/**
 * The endpoints controller (leader-elected): keeps an Endpoints object for every Service with a
 * selector, keyed by service, level-based — any change of a service or of a pod it may select
 * re-computes that service's Endpoints and writes them with CAS.
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: endpointsController }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { Endpoints, Pod, Service } from "../../bus/resources.ts";
import { Informer, keyFor, splitKey } from "../../runtime/informer.ts";
import { WorkQueue } from "../../runtime/workqueue.ts";
import { ErrorCode, isCode } from "../../bus/errors.ts";
import { matchesSelector } from "../../bus/selectors.ts";
import { decideEndpoints } from "./endpoints.ts";

export async function startEndpointsController(ctx: ActorContext): Promise<Actor> {
  const log = ctx.log;
  const services = new Informer<Service>(ctx.nc, ctx.cluster, { resource: "services", log: log.child({ informer: "services" }) });
  const endpoints = new Informer<Endpoints>(ctx.nc, ctx.cluster, { resource: "endpoints", log: log.child({ informer: "endpoints" }) });
  const pods = new Informer<Pod>(ctx.nc, ctx.cluster, { resource: "pods", log: log.child({ informer: "pods" }) });

  const queue = new WorkQueue(
    async (key) => {
      const { namespace, name } = splitKey(key);
      const ns = namespace ?? "default";
      const cmd = decideEndpoints(services.get(ns, name), endpoints.get(ns, name), pods.list(ns), { namespace: ns, name });
      if (cmd.type !== "none") log.debug("endpoints", { key, action: cmd.type });
      try {
        switch (cmd.type) {
          case "none":
            return;
          case "create":
            await ctx.store.create("endpoints", ns, cmd.endpoints);
            return;
          case "update":
            await ctx.store.update("endpoints", cmd.endpoints);
            return;
          case "delete":
            await ctx.store.delete("endpoints", ns, name);
            return;
        }
      } catch (e) {
        // The cache was behind: the informer's next event re-enqueues; retry with back-off meanwhile.
        if (cmd.type === "delete" && isCode(e, ErrorCode.NotFound)) return;
        if (cmd.type === "create" && isCode(e, ErrorCode.AlreadyExists)) {
          queue.addAfter(key, 100);
          return;
        }
        throw e;
      }
    },
    { log, concurrency: 4, baseDelayMs: 100, maxDelayMs: 5000 },
  );

  /** Services of the pod's namespace whose selector matches either version of the pod. */
  const servicesOf = (...ps: Pod[]) => {
    const keys = new Set<string>();
    for (const p of ps) {
      for (const s of services.list(p.metadata.namespace ?? "default")) {
        if (s.spec.selector && matchesSelector({ matchLabels: s.spec.selector }, p.metadata.labels)) keys.add(keyFor(s));
      }
    }
    return keys;
  };
  services.addHandlers({
    add: (s) => queue.add(keyFor(s)),
    update: (_o, s) => queue.add(keyFor(s)),
    delete: (s) => queue.add(keyFor(s)),
  });
  endpoints.addHandlers({
    // Someone else changed or removed our Endpoints: converge again.
    update: (_o, e) => queue.add(keyFor(e)),
    delete: (e) => queue.add(keyFor(e)),
  });
  pods.addHandlers({
    add: (p) => servicesOf(p).forEach((k) => queue.add(k)),
    update: (o, p) => servicesOf(o, p).forEach((k) => queue.add(k)),
    delete: (p) => servicesOf(p).forEach((k) => queue.add(k)),
  });

  await Promise.all([services.start(), endpoints.start(), pods.start()]);
  // Endpoints whose service is gone (deleted while no controller ran).
  for (const e of endpoints.list()) if (!services.get(e.metadata.namespace, e.metadata.name!)) queue.add(keyFor(e));

  return {
    async stop() {
      services.stop();
      endpoints.stop();
      pods.stop();
      await queue.shutdown();
    },
  };
}

export const endpointsController: ActorDefinition = {
  kind: "endpoints-controller",
  leaderElected: true,
  start: (ctx) => startEndpointsController(ctx),
};
export default endpointsController;
