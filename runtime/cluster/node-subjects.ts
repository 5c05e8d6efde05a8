/**
 * A node's own store subjects, served one by one (`…store.node.<name>.*`) for every node in the
 * servers' registry, next to the wildcard `…store.node.*.*`.
 *
 * Why: nats-server 2.9 tells a leaf node only about subscriptions its user may publish to, and
 * matches a wildcard subscription literally against the permissions: `…store.node.*.*` is not in
 * a leaf worker's `…store.node.<name>.*`, so without these its store requests find no responder.
 * The per-node subscriptions join the same queue group as the wildcard one, so a request is still
 * served once.
 *
 * @example
 *   const nodes = await serveNodeSubjects(ctx.nc, ctx.cluster, (subject) => serve(ctx, subject, options));
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { subjects } from "../../bus/subjects.ts";
import { openRegistry } from "./registry.ts";
import { watchNodes } from "./node-credentials.ts";

export async function serveNodeSubjects(nc: NatsConnection, cluster: string, serveOne: (subject: string) => { stop(): Promise<void> }): Promise<{ stop(): Promise<void> }> {
  const s = subjects(cluster);
  const served = new Map<string, { stop(): Promise<void> }>();
  const registry = await openRegistry(nc, cluster);
  const watch = await watchNodes(registry, (name) => {
    if (!served.has(name)) served.set(name, serveOne(s.storeAsNodeAll(name)));
  });
  return {
    async stop() {
      watch.stop();
      await Promise.all([...served.values()].map((x) => x.stop()));
    },
  };
}
