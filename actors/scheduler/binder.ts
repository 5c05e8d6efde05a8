/**
 * Binds in batches: every bind asked for in one turn of the event loop (up to `maxBatch`) goes
 * to the store as one `bindAll` request, in which each bind is still its own compare-and-swap
 * (a failed one fails alone). One request for many pods: one message each way, and one fence
 * check for the batch instead of one per pod. Given an Event source, the batch also asks the store
 * to write each bound pod's `Scheduled` Event, so the Events travel in the same message instead of
 * one request (with its own fence check) each.
 *
 * @example
 *   const binder = new Binder(store);
 *   await binder.bind({ namespace: "default", name: "web-1", node: "node-3", uid });  // throws the bind's own error
 */
import type { StoreClient } from "../../bus/store-client.ts";
import type { Binding } from "../../bus/store-protocol.ts";
import type { EventSource } from "../../runtime/events.ts";
import { FlotillaError } from "../../bus/errors.ts";
import { MAX_BINDINGS } from "../../bus/store-protocol.ts";

interface Waiting {
  binding: Binding;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class Binder {
  private pending: Waiting[] = [];
  private scheduled = false;

  constructor(
    private readonly store: Pick<StoreClient, "bindAll">,
    private readonly maxBatch = 128,
    private readonly scheduledEvents?: EventSource,
  ) {}

  bind(binding: Binding): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ binding, resolve, reject });
      if (this.pending.length >= Math.min(this.maxBatch, MAX_BINDINGS)) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    this.store.bindAll(batch.map((w) => w.binding), this.scheduledEvents).then(
      (outcomes) =>
        batch.forEach((w, i) => {
          const o = outcomes[i];
          if (o?.ok) w.resolve();
          else w.reject(o ? FlotillaError.fromWire(o.error) : new Error("the store answered fewer outcomes than binds"));
        }),
      (e: unknown) => batch.forEach((w) => w.reject(e)),
    );
  }
}
