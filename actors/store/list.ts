/**
 * Lists, one page at a time, as of one revision. The first page fixes the revision R (the bucket's
 * last sequence); its continue token carries R and the last key returned, so every later page
 * reads the same snapshot (Kubernetes' consistent chunked lists). A page reads only the keys
 * (the stream's subject index) and the values it returns. A page stops at `limit` items or at what
 * fits in one NATS message, whichever comes first — so a list without `limit` may come in pages
 * too (`StoreClient.list` follows them). A token whose revision is no longer readable is `Expired`.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { KubeList, KubeObject } from "../../bus/resources.ts";
import type { ResourceType } from "../../bus/kinds.ts";
import type { Buckets } from "../../bus/kv.ts";
import type { StateAt } from "./kv-read.ts";
import { apiVersionOf } from "../../bus/kinds.ts";
import { prefixOf, decodeObject } from "../../bus/kv.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { objectFilter } from "../../bus/selectors.ts";
import { kvFailure } from "./kv-errors.ts";
import { BucketReader } from "./kv-read.ts";

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

/** Where the next page starts: after key `k`, as of revision `rv`. */
export interface ContinueToken {
  k: string;
  rv: number;
}

export function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify(t)).toString("base64url");
}

export function decodeContinue(s: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(s, "base64url").toString()) as Partial<ContinueToken>;
    if (typeof t.k === "string" && Number.isSafeInteger(t.rv) && (t.rv as number) >= 0) return t as ContinueToken;
  } catch {
    // falls through
  }
  throw new FlotillaError(ErrorCode.BadRequest, "invalid continue token");
}

const expired = () =>
  new FlotillaError(
    ErrorCode.Expired,
    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
  );

/** Values fetched at once. */
const CHUNK = 256;
/** Bytes of list framing per item beyond the stored object (resourceVersion, commas). */
const ITEM_OVERHEAD = 48;

/** What one reply may carry: a margin under the server's max_payload for the envelope. */
export function replyBudget(nc: NatsConnection): number {
  const max = nc.info?.max_payload ?? 1024 * 1024;
  return Math.floor(max * 0.75);
}

/**
 * The sorted keys under a prefix, kept for the pages that follow a first one: a listing taken after
 * revision R holds every key that existed at R (keys are never purged from the object buckets), so
 * later pages of the same snapshot reuse it. A cache of a derived fact, not state: a replica that
 * lacks it lists again.
 */
const listings = new Map<string, { keys: string[]; at: number }>();
const LISTINGS = 8;
const LISTING_TTL_MS = 60_000;

async function sortedKeys(reader: BucketReader, bucket: string, filter: string, revision: number, fresh: boolean): Promise<string[]> {
  const id = `${bucket}|${filter}|${revision}`;
  const hit = listings.get(id);
  if (!fresh && hit && Date.now() - hit.at < LISTING_TTL_MS) return hit.keys;
  const keys = (await reader.keys(filter)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  listings.delete(id);
  listings.set(id, { keys, at: Date.now() });
  while (listings.size > LISTINGS) listings.delete(listings.keys().next().value!);
  return keys;
}

/** Index of the first key after `k` (binary search). */
function firstAfter(keys: readonly string[], k: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! <= k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export async function listPage(nc: NatsConnection, buckets: Buckets, rt: ResourceType, namespace: string | undefined, o: ListOptions, budget = replyBudget(nc)): Promise<KubeList> {
  const filter = objectFilter(rt.resource, o.labelSelector, o.fieldSelector);
  const token = o.continue ? decodeContinue(o.continue) : undefined;
  const reader = new BucketReader(nc, buckets.names[rt.bucket]);
  const limit = o.limit && o.limit > 0 ? o.limit : Infinity;
  const selective = !!(o.labelSelector || o.fieldSelector);
  try {
    const bounds = await reader.bounds();
    const revision = token?.rv ?? bounds.last;
    if (token && token.rv + 1 < bounds.first) throw expired();
    const all = await sortedKeys(reader, buckets.names[rt.bucket], prefixOf(rt.resource, namespace), revision, !token);
    const keys = token ? all.slice(firstAfter(all, token.k)) : all;
    const items: KubeObject[] = [];
    let bytes = 0;
    /** Index of the last key this page accounts for. */
    let done = -1;
    let full = false;
    while (!full && done < keys.length - 1) {
      const size = selective ? CHUNK : Math.min(CHUNK, Math.max(8, limit - items.length));
      const chunk = keys.slice(done + 1, done + 1 + size);
      const states: StateAt[] = await Promise.all(chunk.map((k) => reader.at(k, revision, bounds.direct)));
      for (const st of states) {
        if (st.state === "expired") throw expired();
        if (st.state === "present") {
          const obj = decodeObject(st.message.data, st.message.seq);
          if (obj && filter(obj)) {
            const cost = st.message.data.length + ITEM_OVERHEAD;
            if (items.length > 0 && bytes + cost > budget) {
              full = true;
              break;
            }
            items.push(obj);
            bytes += cost;
          }
        }
        done++;
        if (items.length >= limit) {
          full = true;
          break;
        }
      }
    }
    const metadata: KubeList["metadata"] = { resourceVersion: String(revision) };
    if (done < keys.length - 1 && done >= 0) {
      metadata.continue = encodeContinue({ k: keys[done]!, rv: revision });
      if (!selective) metadata.remainingItemCount = keys.length - 1 - done;
    }
    return { apiVersion: apiVersionOf(rt), kind: `${rt.kind}List`, metadata, items };
  } catch (e) {
    throw kvFailure(e, "list");
  }
}
