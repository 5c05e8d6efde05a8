/**
 * One list + watch stream per resource (the Kubernetes watch API over fetch streaming): list,
 * watch from the list's resourceVersion, resume from the last seen resourceVersion after a drop
 * (with back-off), list again on 410 Expired. No polling. Subscribers are told (at most every
 * 50 ms) when the cache changed.
 *
 * A stream runs only while a view shows its resource (closed 1 s after the last view leaves,
 * resumed from the cached resourceVersion when one comes back): over HTTP/1.1 a browser keeps at
 * most six connections per origin, and a long-lived watch holds one each.
 */
import type { KubeObject } from "../../../bus/resources.ts";
import type { ListState, WatchEvent } from "./watch-state.ts";
import { ApiError, request, getJson, connection } from "./api.ts";
import { LineSplitter } from "./ndjson.ts";
import { applyEvent, fromList, reconnectDelayMs, watchUrl } from "./watch-state.ts";

export interface Snapshot<T extends KubeObject> {
  items: T[];
  synced: boolean;
  error?: string;
}

type Listener = () => void;

const IDLE_MS = 1000;

export class Watcher<T extends KubeObject = KubeObject> {
  private state: ListState<T> | undefined;
  private snap: Snapshot<T> = { items: [], synced: false };
  private listeners = new Set<Listener>();
  private abort: AbortController | undefined;
  private notifyTimer: ReturnType<typeof setTimeout> | undefined;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly listPath: string) {}

  snapshot(): Snapshot<T> {
    return this.snap;
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    clearTimeout(this.idleTimer);
    if (!this.abort) {
      this.abort = new AbortController();
      const abort = this.abort;
      void this.run(abort.signal).finally(() => {
        if (this.abort === abort) this.abort = undefined;
      });
    }
    return () => {
      this.listeners.delete(l);
      if (this.listeners.size === 0) this.idleTimer = setTimeout(() => this.stop(), IDLE_MS);
    };
  }

  /** Closes the stream; the cache stays, and the next subscriber resumes from its resourceVersion. */
  stop(): void {
    clearTimeout(this.idleTimer);
    this.abort?.abort();
    this.abort = undefined;
  }

  private publish(error?: string, now = false): void {
    const items = this.state ? [...this.state.items.values()] : this.snap.items;
    this.snap = { items, synced: this.state !== undefined, ...(error ? { error } : {}) };
    if (now) return this.fire();
    this.notifyTimer ??= setTimeout(() => this.fire(), 50);
  }
  private fire(): void {
    clearTimeout(this.notifyTimer);
    this.notifyTimer = undefined;
    for (const l of this.listeners) l();
  }

  private async list(signal: AbortSignal): Promise<ListState<T>> {
    return fromList(await getJson<{ items: T[]; metadata: { resourceVersion?: string } }>(this.listPath, { signal }));
  }

  private async run(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    let relist = !this.state;
    while (!signal.aborted) {
      try {
        if (!connection.token) return;
        if (relist || !this.state) {
          this.state = await this.list(signal);
          relist = false;
          this.publish(undefined, true);
        }
        const outcome = await this.watch(signal);
        if (outcome === "relist") relist = true;
        attempt = outcome === "ended" ? 0 : attempt + 1;
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof ApiError && e.status === 410) relist = true;
        else if (e instanceof ApiError && e.status === 401) return;
        this.publish(e instanceof Error ? e.message : String(e));
        attempt++;
      }
      if (attempt > 0) await sleep(reconnectDelayMs(attempt - 1), signal);
    }
  }

  /** Streams events until the server ends the stream ("ended"), an ERROR event arrives, or the connection drops (throws). */
  private async watch(signal: AbortSignal): Promise<"ended" | "relist" | "error"> {
    const res = await request(watchUrl(this.listPath, this.state!.resourceVersion), { signal });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    const lines = new LineSplitter();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        const batch = done ? lines.flush() : lines.push(value);
        for (const line of batch) {
          const step = applyEvent(this.state!, JSON.parse(line) as WatchEvent<T>);
          if (step.type !== "state") return step.type;
          this.state = step.state;
          if (step.changed) this.publish();
        }
        if (done) return "ended";
      }
    } catch (e) {
      if (!signal.aborted) connection.setReachable(false);
      throw e;
    } finally {
      reader.cancel().catch(() => undefined);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });
}

const watchers = new Map<string, Watcher>();

/** The shared watcher of a list path (e.g. `/api/v1/pods`): one stream per resource for the whole page. */
export function watcherFor<T extends KubeObject>(listPath: string): Watcher<T> {
  let w = watchers.get(listPath);
  if (!w) watchers.set(listPath, (w = new Watcher(listPath)));
  return w as unknown as Watcher<T>;
}

/** Closes every stream (on sign-out). */
export function stopAllWatchers(): void {
  for (const w of watchers.values()) w.stop();
  watchers.clear();
}
