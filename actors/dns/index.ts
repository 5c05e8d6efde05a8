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
import type { Zone } from "./zone.ts";
import { readFileSync } from "node:fs";
import { Informer } from "../../runtime/informer.ts";
import { WorkQueue } from "../../runtime/workqueue.ts";
import { answer, buildZone } from "./zone.ts";
import { parseUpstream, serveDns } from "./server.ts";

export interface DnsOptions {
  /** `ip:port` to serve on (UDP and TCP). Default `127.0.0.1:53`. Port 0 picks a free one. */
  listen?: string;
  /** Cluster domain (default `cluster.local`). */
  domain?: string;
  /** Resolvers for names outside the cluster; default the host's `/etc/resolv.conf` nameservers. */
  upstreams?: string[];
  ttl?: number;
}

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
  const pods = new Informer<Pod>(ctx.nc, ctx.cluster, { resource: "pods", log: log.child({ informer: "pods" }) });

  let zone = buildZone({ services: [], endpoints: [], pods: [] }, { domain, ttl });
  const rebuild = async () => {
    zone = buildZone({ services: services.list(), endpoints: endpoints.list(), pods: pods.list() }, { domain, ttl });
  };
  const queue = new WorkQueue(rebuild, { log, baseDelayMs: 50, maxDelayMs: 1000 });
  const poke = () => queue.add(REBUILD);
  for (const inf of [services, endpoints, pods] as Informer[]) inf.addHandlers({ add: poke, update: poke, delete: poke });
  await Promise.all([services.start(), endpoints.start(), pods.start()]);
  await rebuild();

  const server = await serveDns({ host: listen.host, port: listen.port, resolve: (q) => answer(zone, q), upstreams, log, domain, ttl });
  log.info("serving cluster DNS", { listen: `${server.address.host}:${server.address.port}`, domain, upstreams });

  return {
    address: () => server.address,
    zone: () => zone,
    async stop() {
      await server.close();
      services.stop();
      endpoints.stop();
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
