/** The store protocol: one request per subject `…store.<verb>`, payload discriminated on `type`. */
import type { KubeObject, DeleteOptions } from "./resources.ts";

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
  | { type: "create"; resource: string; namespace?: string; object: KubeObject; dryRun?: boolean; fieldManager?: string }
  | ({ type: "update"; object: KubeObject; dryRun?: boolean; subresource?: Subresource } & Target)
  | ({
      type: "patch";
      patchType: PatchType;
      patch: unknown;
      dryRun?: boolean;
      fieldManager?: string;
      force?: boolean;
      subresource?: Subresource;
    } & Target)
  | ({ type: "delete"; options?: DeleteOptions } & Target)
  | { type: "bind"; namespace: string; name: string; node: string; uid?: string }
  | { type: "evict"; namespace: string; name: string; options?: DeleteOptions }
  | ({ type: "status"; object: KubeObject } & Target);

export type StoreRequestType = StoreRequest["type"];
export const STORE_REQUEST_TYPES: readonly StoreRequestType[] = [
  "get",
  "list",
  "create",
  "update",
  "patch",
  "delete",
  "bind",
  "evict",
  "status",
];
