/**
 * The pure half of a Kubernetes list + watch client: a cache of objects by key and the
 * resourceVersion to resume from, and what to do with each watch event. No I/O.
 *
 * @example
 *   let s = fromList(await list());                 // GET /api/v1/pods
 *   const step = applyEvent(s, JSON.parse(line));   // one line of ?watch=true&resourceVersion=…
 *   if (step.type === "relist") s = fromList(await list()); else s = step.state;
 */
import type { KubeObject } from "../../../bus/resources.ts";

export interface ListState<T extends KubeObject = KubeObject> {
  /** `<namespace>/<name>` or `<name>` → object. */
  items: ReadonlyMap<string, T>;
  /** Where a (re)started watch resumes. */
  resourceVersion: string;
}

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T | StatusObject;
}

export interface StatusObject {
  kind: "Status";
  code?: number;
  reason?: string;
  message?: string;
  metadata?: { resourceVersion?: string };
}

export type Step<T extends KubeObject> =
  | { type: "state"; state: ListState<T>; changed: boolean }
  /** The resourceVersion is too old (410 Expired): list again, then watch from the new list. */
  | { type: "relist"; message: string }
  /** Any other ERROR event: the stream is over; resume from the state's resourceVersion. */
  | { type: "error"; message: string };

export const keyOf = (o: KubeObject): string => (o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : `${o.metadata.name ?? ""}`);

export function fromList<T extends KubeObject>(list: { items?: T[]; metadata?: { resourceVersion?: string } }): ListState<T> {
  const items = new Map<string, T>();
  for (const o of list.items ?? []) items.set(keyOf(o), o);
  return { items, resourceVersion: list.metadata?.resourceVersion ?? "0" };
}

const isStatus = (o: unknown): o is StatusObject => typeof o === "object" && o !== null && (o as { kind?: unknown }).kind === "Status";

/** The next state after one watch event (a new Map when something changed; the same state otherwise). */
export function applyEvent<T extends KubeObject>(state: ListState<T>, ev: WatchEvent<T>): Step<T> {
  if (ev.type === "ERROR" || isStatus(ev.object)) {
    const st = ev.object as StatusObject;
    const message = st.message ?? "watch error";
    return st.code === 410 || st.reason === "Expired" || st.reason === "Gone" ? { type: "relist", message } : { type: "error", message };
  }
  const obj = ev.object as T;
  const resourceVersion = obj.metadata?.resourceVersion ?? state.resourceVersion;
  if (ev.type === "BOOKMARK") return { type: "state", state: { items: state.items, resourceVersion }, changed: false };
  const items = new Map(state.items);
  if (ev.type === "DELETED") items.delete(keyOf(obj));
  else items.set(keyOf(obj), obj);
  return { type: "state", state: { items, resourceVersion }, changed: true };
}

/** The watch URL that resumes after `state` (bookmarks keep the resourceVersion fresh on quiet streams). */
export function watchUrl(listPath: string, resourceVersion: string): string {
  const sep = listPath.includes("?") ? "&" : "?";
  return `${listPath}${sep}watch=true&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(resourceVersion)}`;
}

/** Back-off before the n-th consecutive reconnect (0-based): 0.5 s doubling to 15 s. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(15_000, 500 * 2 ** Math.min(attempt, 5));
}
