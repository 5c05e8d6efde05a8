/**
 * A typed client for the store protocol. Every method throws a FlotillaError carrying the wire
 * error code (NotFound, Conflict, Invalid, Unavailable, …).
 *
 * @example
 *   const store = new StoreClient(nc, "default");
 *   const pod = await store.create("pods", "default", { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec });
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { KubeObject, KubeList, DeleteOptions } from "./resources.ts";
import type { StoreRequest, PatchType, Subresource } from "./store-protocol.ts";
import { subjects } from "./subjects.ts";
import { call, DEFAULT_TIMEOUT_MS } from "./request.ts";

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export class StoreClient {
  private readonly s;
  constructor(
    readonly nc: NatsConnection,
    readonly cluster: string,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {
    this.s = subjects(cluster);
  }

  send<T>(req: StoreRequest): Promise<T> {
    return call<T>(this.nc, this.s.store(req.type), req, this.timeoutMs);
  }

  get<T extends KubeObject = KubeObject>(resource: string, namespace: string | undefined, name: string): Promise<T> {
    return this.send<T>({ type: "get", resource, namespace, name });
  }
  /**
   * One page with `limit` (possibly shorter: a page is at most one NATS message); without it the
   * whole list, fetched page by page from one snapshot (every page at the first one's revision).
   */
  async list<T extends KubeObject = KubeObject>(resource: string, namespace?: string, opts: ListOptions = {}): Promise<KubeList<T>> {
    const first = await this.send<KubeList<T>>({ type: "list", resource, namespace, ...opts });
    if (opts.limit || !first.metadata.continue) return first;
    const items = [...first.items];
    for (let token: string | undefined = first.metadata.continue; token; ) {
      const page: KubeList<T> = await this.send<KubeList<T>>({ type: "list", resource, namespace, ...opts, continue: token });
      items.push(...page.items);
      token = page.metadata.continue;
    }
    return { ...first, metadata: { resourceVersion: first.metadata.resourceVersion }, items };
  }
  create<T extends KubeObject = KubeObject>(resource: string, namespace: string | undefined, object: KubeObject, opts: { dryRun?: boolean } = {}): Promise<T> {
    return this.send<T>({ type: "create", resource, namespace, object, ...opts });
  }
  update<T extends KubeObject = KubeObject>(resource: string, object: KubeObject, opts: { dryRun?: boolean; subresource?: Subresource } = {}): Promise<T> {
    return this.send<T>({ type: "update", resource, namespace: object.metadata.namespace, name: object.metadata.name!, object, ...opts });
  }
  updateStatus<T extends KubeObject = KubeObject>(resource: string, object: KubeObject): Promise<T> {
    return this.send<T>({ type: "status", resource, namespace: object.metadata.namespace, name: object.metadata.name!, object });
  }
  patch<T extends KubeObject = KubeObject>(
    resource: string,
    namespace: string | undefined,
    name: string,
    patchType: PatchType,
    patch: unknown,
    opts: { dryRun?: boolean; subresource?: Subresource; fieldManager?: string; force?: boolean } = {},
  ): Promise<T> {
    return this.send<T>({ type: "patch", resource, namespace, name, patchType, patch, ...opts });
  }
  delete<T extends KubeObject = KubeObject>(resource: string, namespace: string | undefined, name: string, options?: DeleteOptions): Promise<T> {
    return this.send<T>({ type: "delete", resource, namespace, name, options });
  }
  bind(namespace: string, name: string, node: string, uid?: string): Promise<KubeObject> {
    return this.send<KubeObject>({ type: "bind", namespace, name, node, uid });
  }
  evict(namespace: string, name: string, options?: DeleteOptions): Promise<KubeObject> {
    return this.send<KubeObject>({ type: "evict", namespace, name, options });
  }
}
