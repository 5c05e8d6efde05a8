/**
 * The cluster DNS (`dns` actor): leader-free, any number of replicas. Each answers from its own
 * informer caches of Services, Endpoints and Pods, so a query never touches the store. The zone is
 * rebuilt (debounced through the work queue) whenever one of them changes. See docs/networking.md.
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: dns, opts: { listen: "127.0.0.1:5353" } }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { Endpoints, Pod, Service } from "../../bus/resources.ts";
import type { EndpointSlice } from "../../bus/networking.ts";
import { SLICES_BY_SERVICE, slicesByService, endpointsView } from "../../bus/endpoint-view.ts";
import type { Zone } from "./zone.ts";
import { readFileSync } from "node:fs";
import { Informer } from "../../runtime/informer.ts";
import { WorkQueue } from "../../runtime/workqueue.ts";
import { answer, buildZone } from "./zone.ts";
import { parseUpstream, serveDns } from "./server.ts";
import { registerServiceEndpoint } from "../../runtime/service-registration.ts";
import type { RegisteredService } from "../../runtime/service-registration.ts";

export interface DnsOptions {
  /** `ip:port` to serve on (UDP and TCP). Default `127.0.0.1:53`. Port 0 picks a free one. */
  listen?: string;
  /** Cluster domain (default `cluster.local`). */
  domain?: string;
  /** Resolvers for names outside the cluster; default the host's `/etc/resolv.conf` nameservers. */
  upstreams?: string[];
  ttl?: number;
  /** The kube-dns Service's ClusterIP to ask for (10.96.0.10 where the service CIDR is 10.96.0.0/12); default: allocated. */
  clusterIP?: string;
  /** The address other machines' pods reach this replica at (default the listen address). */
  advertiseAddress?: string;
  /** Keep `kube-system/kube-dns` pointing at the live replicas (default true). */
  register?: boolean;
}

/** `kube-system/kube-dns`: port 53 over UDP and TCP → each replica's port. */
export const kubeDnsService = (port: number, clusterIP?: string): RegisteredService => ({
  namespace: "kube-system",
  name: "kube-dns",
  labels: { "k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS" },
  spec: {
    type: "ClusterIP",
    ...(clusterIP ? { clusterIP } : {}),
    ports: [
      { name: "dns", port: 53, protocol: "UDP", targetPort: port },
      { name: "dns-tcp", port: 53, protocol: "TCP", targetPort: port },
    ],
  },
  component: "dns",
  endpointPorts: [
    { name: "dns", protocol: "UDP" },
    { name: "dns-tcp", protocol: "TCP" },
  ],
});

/** The nameservers of a resolv.conf, except loopback ones that would point back at us. */
export function hostResolvers(text: string, self: string): string[] {
  return text
    .split("\n")
    .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
    .filter((ip): ip is string => !!ip && ip !== self);
}

const REBUILD = "zone";

export async function startDns(ctx: ActorContext, opts: DnsOptions): Promise<Actor & { address(): { host: string; port: number }; zone(): Zone }> {
  const log = ctx.log;
  const listen = parseUpstream(opts.listen ?? "127.0.0.1:53");
  const domain = opts.domain ?? "cluster.local";
  const ttl = opts.ttl ?? 5;
  let upstreams = opts.upstreams;
  if (!upstreams) {
    try {
      upstreams = hostResolvers(readFileSync("/etc/resolv.conf", "utf8"), listen.host);
    } catch {
      upstreams = [];
    }
  }

  const services = new Informer<Service>(ctx.nc, ctx.cluster, { resource: "services", log: log.child({ informer: "services" }) });
  const endpoints = new Informer<Endpoints>(ctx.nc, ctx.cluster, { resource: "endpoints", log: log.child({ informer: "endpoints" }) });
  // A Service's endpoints come from its EndpointSlices, from its Endpoints only while it has none.
  const slices = new Informer<EndpointSlice>(ctx.nc, ctx.cluster, { resource: "endpointslices", indexers: { [SLICES_BY_SERVICE]: slicesByService }, log: log.child({ informer: "endpointslices" }) });
  const pods = new Informer<Pod>(ctx.nc, ctx.cluster, { resource: "pods", log: log.child({ informer: "pods" }) });

  let zone = buildZone({ services: [], endpoints: [], pods: [] }, { domain, ttl });
  let server: Awaited<ReturnType<typeof serveDns>> | undefined;
  const rebuild = async () => {
    const svcs = services.list();
    const eps = svcs.map((v) => endpointsView(v, slices.byIndex(SLICES_BY_SERVICE, `${v.metadata.namespace}/${v.metadata.name}`), endpoints.get(v.metadata.namespace, v.metadata.name!))).filter((e): e is Endpoints => !!e);
    zone = buildZone({ services: svcs, endpoints: eps, pods: pods.list() }, { domain, ttl });
    server?.invalidate();
  };
  const queue = new WorkQueue(rebuild, { log, baseDelayMs: 50, maxDelayMs: 1000 });
  const poke = () => queue.add(REBUILD);
  for (const inf of [services, endpoints, pods, slices] as Informer[]) inf.addHandlers({ add: poke, update: poke, delete: poke });
  await Promise.all([services.start(), endpoints.start(), pods.start(), slices.start()]);
  await rebuild();

  server = await serveDns({ host: listen.host, port: listen.port, resolve: (q) => answer(zone, q), upstreams, log, domain, ttl });
  log.info("serving cluster DNS", { listen: `${server.address.host}:${server.address.port}`, domain, upstreams });
  const port = server.address.port;
  const registration =
    opts.register === false
      ? undefined
      : await registerServiceEndpoint({ store: ctx.store, log, now: ctx.now, service: kubeDnsService(port, opts.clusterIP), address: opts.advertiseAddress ?? listen.host, ports: [port, port] });

  return {
    address: () => server.address,
    zone: () => zone,
    async stop() {
      await registration?.stop();
      await server.close();
      services.stop();
      endpoints.stop();
      slices.stop();
      pods.stop();
      await queue.shutdown();
    },
  };
}

export const dns: ActorDefinition<DnsOptions> = {
  kind: "dns",
  start: startDns,
};
export default dns;
