/**
 * The api-server's custom types: an informer on CustomResourceDefinitions keeps the catalog
 * (routes, discovery, OpenAPI, Tables) and one watch cache per custom type in step with the CRDs.
 * A CRD that becomes Established is served, discovered and described as soon as its event arrives;
 * one that goes away stops being served and its watchers are told so.
 *
 * @example
 *   const custom = await startCustomTypes({ nc, cluster, log, caches });
 *   createHandler({ …, catalog: custom.catalog, cacheFor: (r) => caches.get(r) });
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../../runtime/logger.ts";
import type { ResourceType } from "../../bus/kinds.ts";
import type { CustomResourceDefinition } from "../../bus/crd.ts";
import type { WatchCache } from "./watch-cache.ts";
import { ResourceCatalog } from "../../bus/catalog.ts";
import { customTypeOf } from "../../bus/crd.ts";
import { Informer } from "../../runtime/informer.ts";
import { startWatchCache } from "./watch-cache.ts";

export interface CustomTypesDeps {
  nc: NatsConnection;
  cluster: string;
  log: Logger;
  /** The api-server's watch caches by plural: custom types' caches are added and removed here. */
  caches: Map<string, WatchCache>;
}

export async function startCustomTypes(deps: CustomTypesDeps): Promise<{ catalog: ResourceCatalog; stop(): void }> {
  const catalog = new ResourceCatalog();
  const feeds = new Map<string, { stop(): void }>();
  const informer = new Informer<CustomResourceDefinition>(deps.nc, deps.cluster, { resource: "customresourcedefinitions", log: deps.log });
  let stopped = false;
  /** Serialises cache starts and stops (events may come faster than a cache lists). */
  let chain = Promise.resolve();

  const sync = () => {
    const types = informer.list().map(customTypeOf).filter((t): t is ResourceType => t !== undefined);
    catalog.setCustom(types);
    const wanted = new Map(catalog.customTypes().map((t) => [t.resource, t]));
    chain = chain.then(async () => {
      for (const [resource, feed] of feeds) {
        if (wanted.has(resource)) continue;
        feed.stop();
        feeds.delete(resource);
        deps.caches.delete(resource);
      }
      for (const [resource, rt] of wanted) {
        if (feeds.has(resource) || stopped) continue;
        const feed = await startWatchCache(deps.nc, deps.cluster, rt, deps.log);
        if (stopped) {
          feed.stop();
          continue;
        }
        feeds.set(resource, feed);
        deps.caches.set(resource, feed.cache);
      }
    }).catch((e: unknown) => deps.log.warn("custom type watch caches", { error: String(e) }));
  };
  informer.addHandlers({ add: sync, update: sync, delete: sync });
  await informer.start();
  sync();
  await chain;
  return {
    catalog,
    stop() {
      stopped = true;
      informer.stop();
      for (const f of feeds.values()) f.stop();
      feeds.clear();
    },
  };
}
