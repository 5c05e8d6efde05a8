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
import type { StoreRequest, PatchType, Subresource, Binding, BindOutcome } from "./store-protocol.ts";
import type { FenceGuard } from "./fence.ts";
import { subjects } from "./subjects.ts";
import { call, DEFAULT_TIMEOUT_MS } from "./request.ts";
import { isStoreWrite } from "./store-protocol.ts";
import { ErrorCode, FlotillaError } from "./errors.ts";
import { LEADER_NAMESPACE } from "./fence.ts";

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface StoreClientOptions {
  /**
   * Send as this node (`…store.node.<node>.<verb>`): a kubelet's or proxy's NATS user may publish
   * only there, and the store lets a node write only its own Node, Lease and pods.
   */
  asNode?: string;
}

export class StoreClient {
  private readonly s;
  constructor(
    readonly nc: NatsConnection,
    readonly cluster: string,
    protected readonly timeoutMs = DEFAULT_TIMEOUT_MS,
    protected readonly scope: StoreClientOptions = {},
  ) {
    this.s = subjects(cluster);
  }

  send<T>(req: StoreRequest, timeoutMs = this.timeoutMs): Promise<T> {
    const subject = this.scope.asNode === undefined ? this.s.store(req.type) : this.s.storeAsNode(this.scope.asNode, req.type);
    return call<T>(this.nc, subject, req, timeoutMs);
  }

  /**
   * A client for one term of leadership: its writes carry the term's fence (the store refuses
   * them once the Lease moved on), and every call fails at once — without being sent — when the
   * term is over, is cut short when it ends, and never waits past the leader's renew deadline.
   */
  fenced(guard: FenceGuard): StoreClient {
    return new FencedStoreClient(this.nc, this.cluster, this.timeoutMs, guard, this.scope);
  }

  get<T extends KubeObject = KubeObject>(resource: string, namespace: string | undefined, name: string): Promise<T> {
    return this.send<T>({ type: "get", resource, namespace, name });
  }
  /**
   * One page with `limit` (possibly shorter: a page is at most one NATS message); without it the
   * whole list, fetched page by page from one snapshot (every page at the first one's revision).
   */
  async list<T extends KubeObject = KubeObject>(resource: string, namespace?: string, opts: ListOptions = {}): Promise<KubeList<T>> {
    // A whole list the store hands out in pages: when a key changed past its retained history
    // between two pages (Events and Leases keep one revision), the snapshot is gone — start again.
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.listOnce<T>(resource, namespace, opts);
      } catch (e) {
        if (opts.limit || opts.continue || attempt >= 4 || !(e instanceof FlotillaError) || e.code !== ErrorCode.Expired) throw e;
      }
    }
  }
  private async listOnce<T extends KubeObject>(resource: string, namespace: string | undefined, opts: ListOptions): Promise<KubeList<T>> {
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
  /** Several binds in one request; one outcome per bind, in order (a failed bind does not fail the others). */
  bindAll(bindings: Binding[], scheduledEvents?: { component: string; host?: string }): Promise<BindOutcome[]> {
    return this.send<BindOutcome[]>({ type: "bindAll", bindings, ...(scheduledEvents ? { scheduledEvents } : {}) });
  }
  evict(namespace: string, name: string, options?: DeleteOptions): Promise<KubeObject> {
    return this.send<KubeObject>({ type: "evict", namespace, name, options });
  }
}

class FencedStoreClient extends StoreClient {
  /** Calls in flight, failed together when the term ends (one abort listener, however many calls). */
  private readonly inFlight = new Set<(e: FlotillaError) => void>();

  constructor(nc: NatsConnection, cluster: string, timeoutMs: number, private readonly guard: FenceGuard, scope: StoreClientOptions) {
    super(nc, cluster, timeoutMs, scope);
    guard.signal.addEventListener("abort", () => {
      for (const fail of this.inFlight) fail(notLeader(guard));
      this.inFlight.clear();
    }, { once: true });
  }

  override send<T>(req: StoreRequest, timeoutMs = this.timeoutMs): Promise<T> {
    const { signal, fence } = this.guard;
    const left = this.guard.remainingMs();
    if (signal.aborted || left <= 0) return Promise.reject(notLeader(this.guard));
    const sent = super.send<T>(isStoreWrite(req) ? { ...req, fence } : req, Math.max(1, Math.min(timeoutMs, Math.floor(left))));
    return new Promise<T>((resolve, reject) => {
      this.inFlight.add(reject);
      sent.then(
        (v) => (this.inFlight.delete(reject), resolve(v)),
        (e: unknown) => (this.inFlight.delete(reject), reject(e)),
      );
    });
  }
}

function notLeader(g: FenceGuard): FlotillaError {
  const f = g.fence;
  return new FlotillaError(ErrorCode.Conflict, `${f.holder} no longer leads: its term ${f.term} of lease ${LEADER_NAMESPACE}/${f.lease} has ended`);
}
