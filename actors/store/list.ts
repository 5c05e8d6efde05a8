/** Lists (snapshot of a prefix, selectors, limit + continue). */
import type { NatsConnection } from "@nats-io/transport-node";
import type { KubeList } from "../../bus/resources.ts";
import type { ResourceType } from "../../bus/kinds.ts";
import type { Buckets } from "../../bus/kv.ts";
import { apiVersionOf } from "../../bus/kinds.ts";
import { prefixOf, snapshotBucket } from "../../bus/kv.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { objectFilter } from "../../bus/selectors.ts";
import { kvFailure } from "./kv-errors.ts";

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export async function listPage(nc: NatsConnection, buckets: Buckets, rt: ResourceType, namespace: string | undefined, o: ListOptions): Promise<KubeList> {
  const filter = objectFilter(rt.resource, o.labelSelector, o.fieldSelector);
  const bucket = buckets.names[rt.bucket];
  let snap;
  try {
    snap = await snapshotBucket(nc, bucket, prefixOf(rt.resource, namespace));
  } catch (e) {
    throw kvFailure(e, "list");
  }
  let entries = snap.entries.filter((e) => filter(e.object)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  if (o.continue) {
    let after: string;
    try {
      after = (JSON.parse(Buffer.from(o.continue, "base64url").toString()) as { k: string }).k;
    } catch {
      throw new FlotillaError(ErrorCode.BadRequest, "invalid continue token");
    }
    entries = entries.filter((e) => e.key > after);
  }
  const metadata: KubeList["metadata"] = { resourceVersion: String(snap.revision) };
  if (o.limit && o.limit > 0 && entries.length > o.limit) {
    const rest = entries.length - o.limit;
    entries = entries.slice(0, o.limit);
    metadata.continue = Buffer.from(JSON.stringify({ k: entries[entries.length - 1]!.key, rv: snap.revision })).toString("base64url");
    metadata.remainingItemCount = rest;
  }
  return { apiVersion: apiVersionOf(rt), kind: `${rt.kind}List`, metadata, items: entries.map((e) => e.object) };
}
