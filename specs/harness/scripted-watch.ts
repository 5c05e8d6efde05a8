/**
 * A scripted KV watch for informer and shared-watch specs: the spec decides when each watch's
 * snapshot is complete (`synced`), and can refuse the next watch with an error (e.g. Expired).
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { WatchHandle, WatchOptions } from "../../bus/kv.ts";
import type { FlotillaError } from "../../bus/errors.ts";

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
