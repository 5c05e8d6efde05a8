/** The store protocol: one request per subject `…store.<verb>`, payload discriminated on `type`. */
import type { KubeObject, DeleteOptions } from "./resources.ts";
import type { Fence } from "./fence.ts";
import type { WireError } from "./errors.ts";

export const PatchType = {
  merge: "merge",
  json: "json",
  strategic: "strategic",
  apply: "apply",
} as const;
export type PatchType = (typeof PatchType)[keyof typeof PatchType];

export type Subresource = "status" | "scale";

interface Target {
  resource: string;
  namespace?: string;
  name: string;
}

/** Writes of a leader-elected actor carry the lease term they rely on (see bus/fence.ts). */
interface Fenced {
  fence?: Fence;
}

export type StoreRequest =
  | ({ type: "get" } & Target)
  | {
      /**
       * One page, as of one revision: at most `limit` items and at most what fits in one NATS
       * message, so `continue` may come back without `limit` too (StoreClient.list follows it).
       */
      type: "list";
      resource: string;
      namespace?: string;
      labelSelector?: string;
      fieldSelector?: string;
      limit?: number;
      continue?: string;
    }
  | ({ type: "create"; resource: string; namespace?: string; object: KubeObject; dryRun?: boolean; fieldManager?: string } & Fenced)
  | ({ type: "update"; object: KubeObject; dryRun?: boolean; subresource?: Subresource } & Target & Fenced)
  | ({
      type: "patch";
      patchType: PatchType;
      patch: unknown;
      dryRun?: boolean;
      fieldManager?: string;
      force?: boolean;
      subresource?: Subresource;
    } & Target &
      Fenced)
  | ({ type: "delete"; options?: DeleteOptions } & Target & Fenced)
  | ({ type: "bind"; namespace: string; name: string; node: string; uid?: string } & Fenced)
  /**
   * Several binds in one message (the scheduler's batches), each its own compare-and-swap; the
   * answer lists each one's outcome in order (`BindOutcome`). At most `MAX_BINDINGS`. With
   * `scheduledEvents`, the store also writes each bound pod's `Scheduled` Event from that source
   * (runtime/events.ts `scheduledEvent`), so the Events ride in the binds' message instead of one
   * request each.
   */
  | ({ type: "bindAll"; bindings: Binding[]; scheduledEvents?: { component: string; host?: string } } & Fenced)
  | ({ type: "evict"; namespace: string; name: string; options?: DeleteOptions } & Fenced)
  | ({ type: "status"; object: KubeObject } & Target & Fenced);

/** One pod to bind to a node (the Binding subresource's content). */
export interface Binding {
  namespace: string;
  name: string;
  node: string;
  uid?: string;
}
/** What one bind of a `bindAll` came to: the pod's new revision, or why not. */
export type BindOutcome = { ok: true; resourceVersion: string } | { ok: false; error: WireError };
/** The most binds one `bindAll` may carry. */
export const MAX_BINDINGS = 512;

export type StoreRequestType = StoreRequest["type"];
export const STORE_REQUEST_TYPES: readonly StoreRequestType[] = [
  "get",
  "list",
  "create",
  "update",
  "patch",
  "delete",
  "bind",
  "bindAll",
  "evict",
  "status",
];

/** The requests that change the store (and may carry a fence). */
export type StoreWrite = Exclude<StoreRequest, { type: "get" } | { type: "list" }>;
export function isStoreWrite(r: StoreRequest): r is StoreWrite {
  return r.type !== "get" && r.type !== "list";
}
