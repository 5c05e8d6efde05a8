/**
 * The EndpointSlice controller (leader-elected), beside the endpoints controller: keeps the
 * discovery.k8s.io/v1 EndpointSlices of every Service (from its pods, or mirrored from the
 * Endpoints of a Service without a selector), keyed by service, level-based (`reconcile` in
 * endpointslices.ts), written with CAS.
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: endpointSliceController }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { Endpoints, Pod, Service } from "../../bus/resources.ts";
import type { EndpointSlice } from "../../bus/networking.ts";
import type { SliceCommand, SliceView } from "./endpointslices.ts";
import { match } from "ts-pattern";
import { Informer, keyFor, splitKey } from "../../runtime/informer.ts";
import { on, startController, tolerate } from "../../runtime/controller.ts";
import { ErrorCode } from "../../bus/errors.ts";
import { matchesSelector } from "../../bus/selectors.ts";
import { SERVICE_NAME_LABEL } from "../../bus/networking.ts";
import { SLICES_BY_SERVICE, slicesByService } from "../../bus/endpoint-view.ts";
import { reconcile } from "./endpointslices.ts";

export async function startEndpointSliceController(ctx: ActorContext): Promise<Actor> {
  const log = (r: string) => ctx.log.child({ informer: r });
  const services = new Informer<Service>(ctx.nc, ctx.cluster, { resource: "services", log: log("services") });
  const endpoints = new Informer<Endpoints>(ctx.nc, ctx.cluster, { resource: "endpoints", log: log("endpoints") });
  const pods = new Informer<Pod>(ctx.nc, ctx.cluster, { resource: "pods", log: log("pods") });
  const slices = new Informer<EndpointSlice>(ctx.nc, ctx.cluster, {
    resource: "endpointslices",
    log: log("endpointslices"),
    indexers: { [SLICES_BY_SERVICE]: slicesByService },
  });
  const serviceKeyOf = (s: EndpointSlice) => {
    const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
    return svc ? `${s.metadata.namespace}/${svc}` : [];
  };
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

  return startController<SliceView, SliceCommand>(ctx, {
    component: "endpointslice-controller",
    informers: [services, endpoints, pods, slices],
    watches: [
      on(services, { add: keyFor, update: (_o, s) => keyFor(s), delete: keyFor }),
      on(endpoints, { add: keyFor, update: (_o, e) => keyFor(e), delete: keyFor }),
      on(slices, { add: serviceKeyOf, update: (_o, s) => serviceKeyOf(s), delete: serviceKeyOf }),
      on(pods, { add: (p) => servicesOf(p), update: (o, p) => servicesOf(o, p), delete: (p) => servicesOf(p) }),
    ],
    view: (key) => {
      const { namespace = "default", name } = splitKey(key);
      return {
        key: { namespace, name },
        service: services.get(namespace, name),
        endpoints: endpoints.get(namespace, name),
        slices: slices.byIndex(SLICES_BY_SERVICE, `${namespace}/${name}`),
        pods: pods.list(namespace),
      };
    },
    objectOf: (v) => v.service,
    reconcile,
    execute: (c) =>
      match(c)
        .with({ type: "endpointslice.create" }, async (c) => void (await ctx.store.create("endpointslices", c.slice.metadata.namespace, c.slice)))
        .with({ type: "endpointslice.update" }, async (c) => void (await ctx.store.update("endpointslices", c.slice)))
        .with({ type: "endpointslice.delete" }, (c) => tolerate(ctx.store.delete("endpointslices", c.namespace, c.name), ErrorCode.NotFound))
        .exhaustive(),
    baseDelayMs: 100,
  });
}

export const endpointSliceController: ActorDefinition = {
  kind: "endpointslice-controller",
  leaderElected: true,
  start: (ctx) => startEndpointSliceController(ctx),
};
export default endpointSliceController;
