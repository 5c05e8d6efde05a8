/**
 * `flotilla events [-w] [--since REV] [--for KIND/NAME]`: the cluster's change feed straight from
 * NATS. Live changes come from the buckets' republish onto `flotilla.<cluster>.events.>` (any NATS
 * client can subscribe); a replay after a revision reads the main bucket with
 * `watchBucket({afterRevision})`. Kubernetes Event objects live in their own bucket (own
 * revisions): a replay includes those stored after the time of REV.
 */
import type { Command } from "commander";
import type { NatsConnection, Msg } from "@nats-io/transport-node";
import type { KubeObject, Event } from "../bus/resources.ts";
import { jetstreamManager } from "@nats-io/jetstream";
import { subjects } from "../bus/subjects.ts";
import { watchBucket, parseKey, decodeObject, KV_OPERATION_HEADER } from "../bus/kv.ts";
import { lookupResource } from "../bus/kinds.ts";
import { natsOptions, natsTarget, connectCli, type NatsFlags } from "./context.ts";
import { CliError } from "./errors.ts";

export interface FeedItem {
  bucket: "main" | "events" | "leases";
  revision: number;
  time: Date;
  op: "PUT" | "DEL";
  key: string;
  object?: KubeObject;
}

export interface FeedFilter {
  kind?: string;
  resource?: string;
  name?: string;
  /** Lease renewals are heartbeat noise: shown only when asked for. */
  leases: boolean;
}

export function parseFor(v: string | undefined, leases = false): FeedFilter {
  if (!v) return { leases };
  const [type, name] = v.split("/");
  const rt = lookupResource(type ?? "");
  if (!rt) throw new CliError(`--for expects KIND/NAME (e.g. deployment/web), got "${v}"`);
  return { kind: rt.kind, resource: rt.resource, name, leases: leases || rt.resource === "leases" };
}

/** Whether a change belongs in the feed: by resource/name, and Events by their involvedObject. */
export function matches(f: FeedFilter, it: FeedItem): boolean {
  const k = parseKey(it.key);
  if (k.resource === "leases" && !f.leases) return false;
  if (!f.resource) return true;
  if (k.resource === f.resource && (!f.name || k.name === f.name)) return true;
  if (k.resource === "events" && it.object) {
    const io = (it.object as Event).involvedObject;
    return io?.kind === f.kind && (!f.name || io.name === f.name);
  }
  return false;
}

/** One line: revision, time, operation, resource/ns/name, and for Event objects reason + message. */
export function feedLine(it: FeedItem): string {
  const k = parseKey(it.key);
  const where = `${k.resource}/${k.namespace ? k.namespace + "/" : ""}${k.name}`;
  const rev = it.bucket === "main" ? String(it.revision) : `${it.bucket === "events" ? "ev" : "ls"}:${it.revision}`;
  let line = `${rev.padEnd(8)} ${it.time.toISOString()} ${it.op.padEnd(3)} ${where}`;
  if (k.resource === "events" && it.object && it.op === "PUT") {
    const e = it.object as Event;
    line += `  ${e.type ?? "Normal"} ${e.reason ?? ""}: ${e.message ?? ""} (${e.involvedObject?.kind ?? ""}/${e.involvedObject?.name ?? ""})`;
  }
  return line;
}

function bucketOfKey(key: string): FeedItem["bucket"] {
  const r = key.split(".")[0];
  return r === "events" ? "events" : r === "leases" ? "leases" : "main";
}

/** A republished message → a feed item (the revision is in the Nats-Sequence header). */
export function itemFromRepublish(m: Pick<Msg, "subject" | "data" | "headers">, prefix: string, now: Date): FeedItem {
  const key = m.subject.substring(prefix.length);
  const revision = Number(m.headers?.get("Nats-Sequence") ?? 0);
  const op = m.headers?.get(KV_OPERATION_HEADER);
  const del = op === "DEL" || op === "PURGE";
  return { bucket: bucketOfKey(key), revision, time: now, op: del ? "DEL" : "PUT", key, object: decodeObject(m.data, revision) };
}

async function timeOf(nc: NatsConnection, stream: string, seq: number): Promise<Date | undefined> {
  const jsm = await jetstreamManager(nc);
  return jsm.streams.getMessage(stream, { seq }).then((m) => m?.time, () => undefined);
}

/** The retained changes of a bucket (after a revision, or its current values), with their times. */
async function replay(nc: NatsConnection, bucket: string, o: { afterRevision?: number; sinceTime?: Date }): Promise<FeedItem[]> {
  const s = subjects();
  const raw: { key: string; revision: number; op: "put" | "delete"; object?: KubeObject }[] = [];
  const w = await watchBucket(nc, bucket, {
    filter: ">",
    ...(o.afterRevision !== undefined ? { afterRevision: o.afterRevision } : {}),
    onChange: (c) => {
      if (c.initial) raw.push(c);
    },
  });
  await w.synced;
  w.stop();
  const items: FeedItem[] = [];
  for (const c of raw) {
    const time = (await timeOf(nc, s.kvStream(bucket), c.revision)) ?? new Date(0);
    if (o.sinceTime && time <= o.sinceTime) continue;
    items.push({ bucket: bucketOfKey(c.key), revision: c.revision, time, op: c.op === "delete" ? "DEL" : "PUT", key: c.key, object: c.object });
  }
  return items;
}

interface EventsFlags extends NatsFlags {
  watch?: boolean;
  since?: string;
  for?: string;
  leases?: boolean;
}

export async function runEvents(f: EventsFlags, print: (s: string) => void, signal?: AbortSignal): Promise<void> {
  const filter = parseFor(f.for, f.leases);
  const since = f.since !== undefined ? Number(f.since) : undefined;
  if (since !== undefined && (!Number.isInteger(since) || since < 0)) throw new CliError(`--since expects a revision (a resourceVersion), got "${f.since}"`);
  const { url, cluster, creds } = natsTarget(f);
  const nc = await connectCli(url, "flotilla-cli-events", creds);
  const s = subjects(cluster);
  const seen = { main: 0, events: 0, leases: 0 };
  const emit = (it: FeedItem) => {
    if (it.revision <= seen[it.bucket]) return;
    seen[it.bucket] = it.revision;
    if (matches(filter, it)) print(feedLine(it));
  };
  // Subscribe before replaying so nothing falls between the replay and the live feed.
  const buffered: FeedItem[] = [];
  let live = false;
  const sub = f.watch
    ? nc.subscribe(s.eventsAll(), {
        callback: (_e, m) => {
          const it = itemFromRepublish(m, s.eventsPrefix(), new Date());
          if (live) emit(it);
          else buffered.push(it);
        },
      })
    : undefined;
  try {
    let items: FeedItem[] = [];
    if (since !== undefined) {
      const sinceTime = since > 0 ? await timeOf(nc, s.kvStream(s.bucket()), since) : new Date(0);
      items = [
        ...(await replay(nc, s.bucket(), { afterRevision: since })),
        ...(await replay(nc, s.eventsBucket(), { sinceTime: sinceTime ?? new Date(0) })),
        ...(filter.leases ? await replay(nc, s.leasesBucket(), { sinceTime: sinceTime ?? new Date(0) }) : []),
      ];
    } else if (!f.watch) {
      items = await replay(nc, s.eventsBucket(), {});
    }
    items.sort((a, b) => a.time.getTime() - b.time.getTime() || a.revision - b.revision);
    for (const it of items) emit(it);
    if (!f.watch) return;
    // Live changes older than the replay were already printed; emit() drops them by revision.
    if (since === undefined) {
      const jsm = await jetstreamManager(nc);
      for (const b of ["main", "events", "leases"] as const) {
        const name = b === "main" ? s.bucket() : b === "events" ? s.eventsBucket() : s.leasesBucket();
        seen[b] = Math.max(seen[b], await jsm.streams.info(s.kvStream(name)).then((i) => i.state.last_seq, () => 0));
      }
    }
    live = true;
    for (const it of buffered.splice(0)) emit(it);
    await new Promise<void>((resolve) => {
      signal?.addEventListener("abort", () => resolve(), { once: true });
      process.once("SIGINT", () => resolve());
      process.once("SIGTERM", () => resolve());
      void nc.closed().then(() => resolve());
    });
  } finally {
    sub?.unsubscribe();
    await nc.close().catch(() => undefined);
  }
}

export function registerEvents(program: Command): void {
  natsOptions(
    program
      .command("events")
      .description("the cluster's change feed from NATS: stored Events, a replay after a revision, or live changes")
      .option("-w, --watch", "keep printing changes as they happen")
      .option("--since <rev>", "replay every change after this revision (a resourceVersion)")
      .option("--for <kind/name>", "only changes of this object (and Events about it), e.g. deployment/web")
      .option("--leases", "include Lease renewals (heartbeats)"),
  ).action((f: EventsFlags) => runEvents(f, (l) => process.stdout.write(l + "\n")));
}
