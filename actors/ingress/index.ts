/**
 * The ingress actor (one per node, not leader-elected), like the Traefik that k3s bundles: an
 * HTTP and HTTPS reverse proxy that serves the Ingresses of its IngressClass. Informers on
 * Ingresses, IngressClasses, Services, Endpoints and TLS Secrets feed a routing snapshot
 * (`routes.ts`, pure) that the listeners (`server.ts`) read per request, so a change takes effect
 * (a Service's endpoints from its EndpointSlices, or its Endpoints while it has none)
 * as soon as its watch event arrives and no connection is dropped. Each node writes its address
 * into the `status.loadBalancer.ingress` of the Ingresses it serves (`status.ts`). At start it
 * creates its IngressClass (default `flotilla`, marked as the cluster's default class) unless one
 * of that name exists.
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: ingress, opts: { nodeName: "n1", httpPort: 8080, httpsPort: 8443 } }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { Endpoints, Secret, Service } from "../../bus/resources.ts";
import type { EndpointSlice, Ingress, IngressClass } from "../../bus/networking.ts";
import { SLICES_BY_SERVICE, slicesByService, endpointsView } from "../../bus/endpoint-view.ts";
import type { RouteTable } from "./routes.ts";
import type { Snapshot } from "./server.ts";
import type { SecureContext } from "node:tls";
import { createSecureContext } from "node:tls";
import { Informer, keyFor, splitKey } from "../../runtime/informer.ts";
import { WorkQueue } from "../../runtime/workqueue.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { DEFAULT_INGRESS_CLASS_ANNOTATION, FLOTILLA_INGRESS_CONTROLLER, NETWORKING_GROUP } from "../../bus/networking.ts";
import { buildRoutes, isOurs, matchRoute, tlsFor } from "./routes.ts";
import { targetsOf } from "./backends.ts";
import { loadBalancerFor } from "./status.ts";
import { IngressServer } from "./server.ts";
import { selfSignedDefaultCert } from "./default-cert.ts";

export interface IngressOptions {
  nodeName?: string;
  /** Where the listeners bind (default 127.0.0.1). */
  address?: string;
  /** HTTP port (default 80; 0 picks a free one). */
  httpPort?: number;
  /** HTTPS port (default 443; 0 picks a free one; null: no HTTPS listener). */
  httpsPort?: number | null;
  /** The address written into Ingress status (default: `address`, or 127.0.0.1 when that is 0.0.0.0). */
  statusAddress?: string;
  /** The IngressClass this actor serves and creates when missing (default `flotilla`). */
  ingressClass?: string;
  /** Its `spec.controller` (default `flotilla.io/ingress`). */
  controller?: string;
  /** Create the IngressClass (marked default) when it does not exist (default true). */
  createClass?: boolean;
}

const ROUTES = "routes";
const STATUS = "status:";
const TLS_TYPE = "kubernetes.io/tls";

export async function startIngress(ctx: ActorContext, opts: IngressOptions): Promise<Actor & { httpPort: number; httpsPort?: number }> {
  const log = ctx.log.child(opts.nodeName ? { node: opts.nodeName } : {});
  const controller = opts.controller ?? FLOTILLA_INGRESS_CONTROLLER;
  const className = opts.ingressClass ?? "flotilla";
  const address = opts.address ?? "127.0.0.1";
  const statusIp = opts.statusAddress ?? (address === "0.0.0.0" || address === "::" ? "127.0.0.1" : address);
  const informer = <T extends Ingress | IngressClass | Service | Endpoints | Secret>(resource: string, filter?: (o: T) => boolean) =>
    new Informer<T>(ctx.nc, ctx.cluster, { resource, log: log.child({ informer: resource }), ...(filter ? { filter } : {}) });
  const ingresses = informer<Ingress>("ingresses");
  const classes = informer<IngressClass>("ingressclasses");
  const services = informer<Service>("services");
  const endpoints = informer<Endpoints>("endpoints");
  const secrets = informer<Secret>("secrets", (s) => s.type === TLS_TYPE);
  const slices = new Informer<EndpointSlice>(ctx.nc, ctx.cluster, { resource: "endpointslices", indexers: { [SLICES_BY_SERVICE]: slicesByService }, log: log.child({ informer: "endpointslices" }) });

  let table: RouteTable = { routes: [], tls: [] };
  const contexts = new Map<string, { rv: string; ctx: SecureContext | undefined }>();
  const secureContext = (namespace: string, name: string): SecureContext | undefined => {
    const s = secrets.get(namespace, name);
    if (!s) return undefined;
    const key = `${namespace}/${name}`;
    const rv = s.metadata.resourceVersion ?? "";
    const hit = contexts.get(key);
    if (hit && hit.rv === rv) return hit.ctx;
    let made: SecureContext | undefined;
    try {
      const pem = (k: string) => Buffer.from(s.data?.[k] ?? "", "base64").toString("utf8");
      made = createSecureContext({ cert: pem("tls.crt"), key: pem("tls.key") });
    } catch (e) {
      log.warn("TLS secret does not hold a usable certificate and key", { secret: key, error: String(e) });
    }
    contexts.set(key, { rv, ctx: made });
    return made;
  };
  const snapshot = (): Snapshot => {
    const t = table;
    return {
      route: (host, path) => matchRoute(t, host, path),
      targets: (b) => {
        const svc = services.get(b.namespace, b.service);
        const eps = svc ? endpointsView(svc, slices.byIndex(SLICES_BY_SERVICE, `${b.namespace}/${b.service}`), endpoints.get(b.namespace, b.service)) : undefined;
        const r = targetsOf(b, svc, eps);
        return r.ok ? r.targets : r.reason;
      },
      secureContext: (name) => {
        const e = tlsFor(t, name);
        return e ? secureContext(e.namespace, e.secretName) : undefined;
      },
    };
  };

  const ours = (i: Ingress) => isOurs(i, classes.list(), controller);
  let stopping = false;
  const work = async (key: string) => {
    if (key === ROUTES) {
      table = buildRoutes(ingresses.list().filter(ours));
      for (const i of ingresses.list()) queue.add(STATUS + keyFor(i));
      return;
    }
    const { namespace, name } = splitKey(key.slice(STATUS.length));
    const i = ingresses.get(namespace, name);
    if (!i) return;
    const next = loadBalancerFor(i, { serves: !stopping && ours(i) && !i.metadata.deletionTimestamp, ip: statusIp });
    if (!next) return;
    try {
      await ctx.store.updateStatus("ingresses", { ...i, status: { ...i.status, loadBalancer: { ingress: next } } });
    } catch (e) {
      if (e instanceof FlotillaError && e.code === ErrorCode.NotFound) return;
      throw e;
    }
  };
  const queue = new WorkQueue(work, { log, baseDelayMs: 50, maxDelayMs: 5000 });
  const routesChanged = () => queue.add(ROUTES);
  for (const inf of [ingresses, classes] as Informer[]) inf.addHandlers({ add: routesChanged, update: routesChanged, delete: routesChanged });

  await Promise.all([ingresses.start(), classes.start(), services.start(), endpoints.start(), secrets.start(), slices.start()]);
  if (opts.createClass !== false && !classes.get(undefined, className)) {
    const ic: IngressClass = {
      apiVersion: `${NETWORKING_GROUP}/v1`,
      kind: "IngressClass",
      metadata: { name: className, annotations: { [DEFAULT_INGRESS_CLASS_ANNOTATION]: "true" } },
      spec: { controller },
    };
    await ctx.store.create("ingressclasses", undefined, ic).catch((e) => {
      if (!(e instanceof FlotillaError && e.code === ErrorCode.AlreadyExists)) log.warn("could not create the IngressClass", { name: className, error: String(e) });
    });
  }
  queue.add(ROUTES);
  await queue.idle();

  const server = new IngressServer(snapshot, log);
  const ports = await server.listen({
    address,
    httpPort: opts.httpPort ?? 80,
    ...(opts.httpsPort === null ? {} : { httpsPort: opts.httpsPort ?? 443 }),
    defaultCert: selfSignedDefaultCert(new Date(ctx.now())),
  });
  log.info("ingress listening", { address, ...ports, ingressClass: className });

  return {
    ...ports,
    async stop() {
      await server.close();
      // Take this node's address out of the status of what it served, briefly.
      stopping = true;
      for (const i of ingresses.list()) queue.add(STATUS + keyFor(i));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([queue.idle(), new Promise((r) => (timer = setTimeout(r, 2000)))]);
      clearTimeout(timer);
      for (const inf of [ingresses, classes, services, endpoints, secrets, slices] as Informer[]) inf.stop();
      await queue.shutdown();
    },
  };
}

export const ingress: ActorDefinition<IngressOptions> = {
  kind: "ingress",
  start: startIngress,
};
export default ingress;
