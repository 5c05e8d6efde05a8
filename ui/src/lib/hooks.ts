/** Preact hooks over the shared watchers and the connection. */
import type { KubeObject, Namespace } from "../../../bus/resources.ts";
import type { Snapshot } from "./watcher.ts";
import type { WatchedResource } from "./resources.ts";
import { useEffect, useState } from "preact/hooks";
import { connection, getJson } from "./api.ts";
import { Paths } from "./resources.ts";
import { watcherFor } from "./watcher.ts";

/** The live list of a resource across all namespaces. */
export function useResource<T extends KubeObject>(resource: WatchedResource): Snapshot<T> {
  const w = watcherFor<T>(Paths[resource]);
  const [snap, setSnap] = useState(w.snapshot());
  useEffect(() => {
    setSnap(w.snapshot());
    return w.subscribe(() => setSnap(w.snapshot()));
  }, [w]);
  return snap;
}

export function useConnection(): { reachable: boolean; token: string | null } {
  const [, setTick] = useState(0);
  useEffect(() => connection.subscribe(() => setTick((n) => n + 1)), []);
  return { reachable: connection.reachable, token: connection.token };
}

/** A clock that ticks every `ms` for "age" columns (display only: no requests). */
export function useNow(ms = 5000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

/**
 * The namespaces' names, listed once when the component appears (not watched: a watch would hold
 * one of the browser's six connections for a list that rarely changes). [] until answered or when refused.
 */
export function useNamespaceNames(): string[] {
  const [names, setNames] = useState<string[]>([]);
  const { token } = useConnection();
  useEffect(() => {
    setNames([]);
    if (!token) return;
    const abort = new AbortController();
    getJson<{ items: Namespace[] }>(Paths.namespaces, { signal: abort.signal }).then(
      (l) => setNames(l.items.map((n) => n.metadata.name!).sort()),
      () => undefined,
    );
    return () => abort.abort();
  }, [token]);
  return names;
}
