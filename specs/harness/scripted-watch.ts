/**
 * A scripted KV watch for informer and shared-watch specs: the spec decides when each watch's
 * snapshot is complete (`synced`), and can refuse the next watch with an error (e.g. Expired).
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { WatchHandle, WatchOptions } from "../../bus/kv.ts";
import type { FlotillaError } from "../../bus/errors.ts";
import type { ConfigMap } from "../../bus/resources.ts";
import { Informer } from "../../runtime/informer.ts";
import { quietLog } from "./quiet-log.ts";

/** A ConfigMap informer on `watch` that records what its handlers saw (`add a@3`, `update a@4`, `delete a`). */
export function recordingInformer(watch: (nc: NatsConnection, bucket: string, opts: WatchOptions) => Promise<WatchHandle>, namespace?: string) {
  const inf = new Informer<ConfigMap>({} as NatsConnection, "test", { resource: "configmaps", namespace, watch, log: quietLog });
  const seen: string[] = [];
  inf.addHandlers({
    add: (o) => void seen.push(`add ${o.metadata.name}@${o.metadata.resourceVersion}`),
    update: (_old, o) => void seen.push(`update ${o.metadata.name}@${o.metadata.resourceVersion}`),
    delete: (o) => void seen.push(`delete ${o.metadata.name}`),
  });
  return { inf, seen };
}

export interface Opened {
  bucket: string;
  filter: string;
  opts: WatchOptions;
  synced(revision: number): void;
  stopped: boolean;
}

export function scriptedWatch() {
  const opened: Opened[] = [];
  const asked: (number | undefined)[] = [];
  let refuseNext: FlotillaError | undefined;
  const watch = async (_nc: NatsConnection, bucket: string, opts: WatchOptions): Promise<WatchHandle> => {
    asked.push(opts.afterRevision);
    if (refuseNext) {
      const e = refuseNext;
      refuseNext = undefined;
      throw e;
    }
    let resolve!: (rev: number) => void;
    const synced = new Promise<number>((r) => (resolve = r));
    const o: Opened = {
      bucket,
      filter: opts.filter,
      opts,
      synced: (rev) => {
        opts.onSynced?.(rev);
        resolve(rev);
      },
      stopped: false,
    };
    opened.push(o);
    return { synced, stop: () => void (o.stopped = true) };
  };
  const live = () => opened.filter((o) => !o.stopped);
  return { watch, opened, asked, live, refuseNextWith: (e: FlotillaError) => void (refuseNext = e) };
}
