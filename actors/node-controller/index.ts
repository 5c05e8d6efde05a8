/**
 * The node controller (leader-elected): node Leases (authoritative) and NATS connection advisories
 * (fast) → Ready condition, unreachable/not-ready taints, evictions after tolerationSeconds. It is
 * the only holder of the system account, and answers questions about the NATS cluster over the bus
 * (cluster-queries.ts).
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: nodeController, opts: { sysNatsUrl: server.sysUrl } }] });
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { Lease, Node, Pod } from "../../bus/resources.ts";
import type { Executed, Pass } from "../../runtime/controller.ts";
import type { NodeControllerCommand, NodeControllerView } from "./node.ts";
import { match } from "ts-pattern";
import { Informer } from "../../runtime/informer.ts";
import { on, referenceTo, startController, tolerate } from "../../runtime/controller.ts";
import { connectNats } from "../../runtime/host.ts";
import { FLOTILLA_ACCOUNT } from "../../runtime/nats-server.ts";
import { decode } from "../../bus/codec.ts";
import { ErrorCode, isCode } from "../../bus/errors.ts";
import { disruption, evictionRate, massDisconnect, TokenBucket, Disruption } from "./lifecycle.ts";
import { Health } from "./taints.ts";
import { ConnectionTable, parseAdvisory } from "./connections.ts";
import { serveClusterQueries } from "./cluster-queries.ts";
import { nodeKey, notReadyConditions, parseNodeControllerKey, podKey, reconcile } from "./node.ts";

const COMPONENT = "node-controller";

export interface NodeControllerOptions {
  /** The system account's URL (with its credentials): enables the fast signal. */
  sysNatsUrl?: string;
  /** The cluster CA the system-account connection verifies its server with (servers use TLS). */
  sysCaFile?: string;
  /** Lease grace period, seconds (default 10). */
  gracePeriodSeconds?: number;
  /** A dropped kubelet connection that stays away this long → Unknown (default 2000). */
  disconnectGraceMs?: number;
  /** Pod evictions per second in normal times (default 10; a tenth of it in a partial disruption). */
  evictionRateLimitPerSecond?: number;
  /** Share of nodes that makes a disconnect or an outage "mass" (default 0.55, Kubernetes' unhealthyZoneThreshold). */
  massDisconnectFraction?: number;
  /** The NATS account kubelets connect in (default FLOTILLA). */
  account?: string;
}

export const LEASE_NAMESPACE = "kube-node-lease";

async function connectSys(url: string, name: string, caFile?: string): Promise<NatsConnection> {
  const u = new URL(url);
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  u.username = "";
  u.password = "";
  return connectNats(u.toString().replace(/\/$/, ""), name, undefined, { user, pass, pingInterval: 1000, maxPingOut: 2, ...(caFile ? { tls: { caFile } } : {}) });
}

export async function startNodeController(ctx: ActorContext, opts: NodeControllerOptions = {}): Promise<Actor> {
  const log = ctx.log;
  const o = {
    gracePeriodMs: (opts.gracePeriodSeconds ?? 10) * 1000,
    disconnectGraceMs: opts.disconnectGraceMs ?? 2000,
    rate: opts.evictionRateLimitPerSecond ?? 10,
    fraction: opts.massDisconnectFraction ?? 0.55,
  };
  const lifecycle = { gracePeriodMs: o.gracePeriodMs, disconnectGraceMs: o.disconnectGraceMs };
  let watchingSince = ctx.now();
  /** Per node: the lease's renewTime, when we last saw it (or granted a fresh grace), when it last really changed. */
  const leaseSeen = new Map<string, { renewTime?: string; at: number; renewedAt?: number; durationMs?: number }>();
  const healths = new Map<string, Health>();
  const conns = new ConnectionTable();
  const limiter = new TokenBucket(o.rate, Math.max(1, Math.ceil(o.rate)), ctx.now());
  let state: Disruption = Disruption.Normal;

  const nodes = new Informer<Node>(ctx.nc, ctx.cluster, { resource: "nodes", log: log.child({ informer: "nodes" }) });
  const leases = new Informer<Lease>(ctx.nc, ctx.cluster, { resource: "leases", namespace: LEASE_NAMESPACE, log: log.child({ informer: "leases" }) });
  const pods = new Informer<Pod>(ctx.nc, ctx.cluster, {
    resource: "pods",
    indexers: { node: (p) => (p.spec.nodeName ? [p.spec.nodeName] : []) },
    log: log.child({ informer: "pods" }),
  });

  const ignoreConnections = () => massDisconnect(conns.recentDrops(ctx.now(), o.gracePeriodMs), Math.max(1, nodes.size), ctx.now(), o.gracePeriodMs, o.fraction);

  /** The disruption state sets the eviction rate (checked before each eviction and every second). */
  const updateDisruption = () => {
    const next = disruption([...healths.values()], o.fraction);
    if (next === state) return;
    log.warn("disruption state", { state: next, was: state });
    state = next;
    limiter.setRate(evictionRate(next, o.rate), ctx.now());
  };

  const view = (key: string): NodeControllerView => {
    const k = parseNodeControllerKey(key);
    if (!k) return { kind: "none" };
    if (k.kind === "pod") {
      const pod = pods.get(k.namespace, k.name);
      return { kind: "pod", pod, node: pod?.spec.nodeName ? nodes.get(undefined, pod.spec.nodeName) : undefined };
    }
    const seen = leaseSeen.get(k.name);
    return {
      kind: "node",
      name: k.name,
      node: nodes.get(undefined, k.name),
      observation: { leaseObservedAt: seen?.at, leaseRenewedAt: seen?.renewedAt, leaseDurationMs: seen?.durationMs, disconnectedAt: conns.disconnectedAt(k.name), watchingSince, ignoreConnections: ignoreConnections() },
      health: healths.get(k.name),
      lifecycle,
    };
  };

  const execute = (c: NodeControllerCommand, { view: v, events }: Pass<NodeControllerView>): Promise<Executed<NodeControllerView> | void> => {
    const node = v.kind === "node" ? v.node : undefined;
    const wrote = (n: Node): Executed<NodeControllerView> => ({ view: { ...v, node: n } as NodeControllerView });
    return match(c)
      .with({ type: "node.health" }, async (c) => {
        healths.set(c.name, c.health);
        const now = ctx.now();
        const d = conns.disconnectedAt(c.name);
        const seen = leaseSeen.get(c.name);
        log.info("node health", { node: c.name, health: c.health, was: c.was ?? null, leaseAgeMs: seen ? now - seen.at : null, disconnectedMs: d === undefined ? null : now - d });
      })
      .with({ type: "node.forget" }, async (c) => void healths.delete(c.name))
      .with({ type: "node.status" }, async (c) => wrote(await ctx.store.updateStatus<Node>("nodes", { ...node!, status: { ...node!.status, conditions: c.conditions } })))
      .with({ type: "node.taint" }, async (c) => wrote(await ctx.store.update<Node>("nodes", { ...node!, spec: { ...node!.spec, taints: c.taints } })))
      .with({ type: "event.record" }, async (c) => events.record(referenceTo(node!), c.eventType, c.reason, c.message))
      .with({ type: "pods.mark-not-ready" }, async (c) => {
        for (const p of pods.byIndex("node", c.node)) {
          const conditions = notReadyConditions(p, c.at);
          if (conditions) await tolerate(ctx.store.updateStatus("pods", { ...p, status: { ...p.status, conditions } }), ErrorCode.NotFound);
        }
      })
      .with({ type: "pod.evict" }, async (c): Promise<Executed<NodeControllerView> | void> => {
        const now = ctx.now();
        updateDisruption();
        if (!limiter.take(now)) {
          const wait = limiter.waitMs(now);
          return { requeueAfterMs: Number.isFinite(wait) ? Math.max(wait, 50) : 1000 };
        }
        // Eviction = graceful delete, guarded by the pod's uid (a recreated pod of the same name is left alone).
        const p = c.pod;
        try {
          await ctx.store.delete("pods", p.metadata.namespace, p.metadata.name!, { preconditions: { uid: p.metadata.uid } });
        } catch (e) {
          if (isCode(e, ErrorCode.NotFound) || isCode(e, ErrorCode.Conflict)) return;
          throw e;
        }
        const key = `${p.metadata.namespace}/${p.metadata.name}`;
        log.info("evicted pod", { pod: key, node: p.spec.nodeName });
        events.record(referenceTo(p), "Normal", "TaintManagerEviction", `Marking for deletion Pod ${key} (taint ${c.taint ?? "?"})`);
      })
      .exhaustive();
  };

  const podsOf = (nodeName: string) => pods.byIndex("node", nodeName).map((p) => podKey(p.metadata.namespace!, p.metadata.name!));
  const onLease = (l: Lease) => {
    const name = l.metadata.name!;
    const prev = leaseSeen.get(name);
    if (prev && prev.renewTime === l.spec.renewTime) return;
    const durationMs = l.spec.leaseDurationSeconds ? l.spec.leaseDurationSeconds * 1000 : undefined;
    leaseSeen.set(name, { renewTime: l.spec.renewTime, at: ctx.now(), renewedAt: prev ? ctx.now() : undefined, durationMs });
    conns.clearDrop(name);
    return healths.get(name) !== Health.Ready && nodeKey(name);
  };

  // Until the controller runs, advisories only update the connection table: every node's first pass reads it.
  let enqueue: (key: string, afterMs?: number) => void = () => undefined;
  let tick: NodeJS.Timeout | undefined;
  // After our own reconnect (a NATS restart?) what we saw is stale: fresh grace, empty connection table.
  const refresh = () => {
    watchingSince = ctx.now();
    for (const [k, v] of leaseSeen) leaseSeen.set(k, { ...v, at: ctx.now() });
    conns.reset();
    for (const n of nodes.list()) enqueue(nodeKey(n.metadata.name!));
  };
  const watchStatus = async (nc: NatsConnection) => {
    for await (const s of nc.status()) if (s.type === "reconnect") refresh();
  };
  void watchStatus(ctx.nc).catch(() => undefined);

  let sys: NatsConnection | undefined;
  const subs: Subscription[] = [];
  const services: { stop(): Promise<void> }[] = [];
  if (opts.sysNatsUrl) {
    sys = await connectSys(opts.sysNatsUrl, `node-controller-sys/${ctx.id}`, opts.sysCaFile);
    void watchStatus(sys).catch(() => undefined);
    const account = opts.account ?? FLOTILLA_ACCOUNT;
    for (const subject of [ctx.subjects.sysDisconnect(account), ctx.subjects.sysConnect(account)]) {
      subs.push(
        sys.subscribe(subject, {
          callback: (_e, m) => {
            let raw: unknown;
            try {
              raw = decode(m.data);
            } catch {
              return;
            }
            const a = parseAdvisory(raw);
            if (!a) return;
            log.debug("connection advisory", { ...a });
            conns.apply(a, ctx.now());
            enqueue(nodeKey(a.node));
            if (a.kind === "disconnect") enqueue(nodeKey(a.node), o.disconnectGraceMs + 5);
          },
        }),
      );
    }
    await sys.flush();
    services.push(...serveClusterQueries(ctx, sys));
  }

  const controller = await startController<NodeControllerView, NodeControllerCommand>(ctx, {
    component: COMPONENT,
    informers: [nodes, leases, pods],
    watches: [
      on(nodes, {
        add: (n) => nodeKey(n.metadata.name!),
        update: (old, n) => [nodeKey(n.metadata.name!), ...(JSON.stringify(old.spec.taints ?? []) !== JSON.stringify(n.spec.taints ?? []) ? podsOf(n.metadata.name!) : [])],
        delete: (n) => nodeKey(n.metadata.name!),
      }),
      on(leases, { add: onLease, update: (_o, l) => onLease(l) }),
      on(pods, {
        add: (p) => !!p.spec.nodeName && podKey(p.metadata.namespace!, p.metadata.name!),
        update: (old, p) => !!p.spec.nodeName && old.spec.nodeName !== p.spec.nodeName && podKey(p.metadata.namespace!, p.metadata.name!),
      }),
    ],
    view,
    objectOf: (v) => (v.kind === "node" ? v.node : v.kind === "pod" ? v.pod : undefined),
    reconcile,
    execute,
    concurrency: 8,
    baseDelayMs: 100,
    stop: async () => {
      if (tick) clearInterval(tick);
      for (const s of subs) s.unsubscribe();
      await Promise.all(services.map((x) => x.stop()));
      if (sys) await sys.close().catch(() => undefined);
    },
  });
  watchingSince = ctx.now();
  enqueue = controller.enqueue;
  tick = setInterval(updateDisruption, 1000);
  tick.unref();
  return controller;
}

export const nodeController: ActorDefinition<NodeControllerOptions> = {
  kind: "node-controller",
  leaderElected: true,
  start: startNodeController,
};
export default nodeController;
