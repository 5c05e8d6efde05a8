/**
 * The endpoints controller (leader-elected): keeps an Endpoints object for every Service with a
 * selector, keyed by service, level-based — any change of a service, of its Endpoints or of a pod
 * it may select re-computes that service's Endpoints (`reconcileEndpoints`) and writes them with CAS.
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: endpointsController }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { Endpoints, Pod, Service } from "../../bus/resources.ts";
import type { EndpointsCommand, EndpointsView } from "./endpoints.ts";
import { match } from "ts-pattern";
import { Informer, keyFor, splitKey } from "../../runtime/informer.ts";
import { on, startController, tolerate } from "../../runtime/controller.ts";
import { ErrorCode } from "../../bus/errors.ts";
import { matchesSelector } from "../../bus/selectors.ts";
import { reconcile } from "./endpoints.ts";

export async function startEndpointsController(ctx: ActorContext): Promise<Actor> {
  const informer = <T extends Service | Endpoints | Pod>(resource: string) => new Informer<T>(ctx.nc, ctx.cluster, { resource, log: ctx.log.child({ informer: resource }) });
  const services = informer<Service>("services");
  const endpoints = informer<Endpoints>("endpoints");
  const pods = informer<Pod>("pods");

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

  return startController<EndpointsView, EndpointsCommand>(ctx, {
    component: "endpoint-controller",
    informers: [services, endpoints, pods],
    watches: [
      on(services, { add: keyFor, update: (_o, s) => keyFor(s), delete: keyFor }),
      // Ours changed or removed by someone else, or left over from a deleted service: converge again.
      on(endpoints, { add: keyFor, update: (_o, e) => keyFor(e), delete: keyFor }),
      on(pods, { add: (p) => servicesOf(p), update: (o, p) => servicesOf(o, p), delete: (p) => servicesOf(p) }),
    ],
    view: (key) => {
      const { namespace = "default", name } = splitKey(key);
      return { key: { namespace, name }, service: services.get(namespace, name), endpoints: endpoints.get(namespace, name), pods: pods.list(namespace) };
    },
    objectOf: (v) => v.service,
    reconcile,
    execute: (c) =>
      match(c)
        // AlreadyExists (the cache was behind) is retried with back-off; the next pass updates instead.
        .with({ type: "endpoints.create" }, async (c) => void (await ctx.store.create("endpoints", c.endpoints.metadata.namespace, c.endpoints)))
        .with({ type: "endpoints.update" }, async (c) => void (await ctx.store.update("endpoints", c.endpoints)))
        .with({ type: "endpoints.delete" }, (c) => tolerate(ctx.store.delete("endpoints", c.namespace, c.name), ErrorCode.NotFound))
        .exhaustive(),
    baseDelayMs: 100,
  });
}

export const endpointsController: ActorDefinition = {
  kind: "endpoints-controller",
  leaderElected: true,
  start: (ctx) => startEndpointsController(ctx),
};
export default endpointsController;
