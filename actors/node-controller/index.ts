/**
 * The node controller (leader-elected): node Leases (authoritative) and NATS connection advisories
 * (fast) → Ready condition, unreachable/not-ready taints, evictions after tolerationSeconds.
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: nodeController, opts: { sysNatsUrl: server.sysUrl } }] });
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { Lease, Node, Pod } from "../../bus/resources.ts";
import { Informer, keyFor, splitKey } from "../../runtime/informer.ts";
import { WorkQueue } from "../../runtime/workqueue.ts";
import { connectNats } from "../../runtime/host.ts";
import { FLOTILLA_ACCOUNT } from "../../runtime/nats-server.ts";
import { decode } from "../../bus/codec.ts";
import { nodeHealth, decideNode, disruption, evictionRate, massDisconnect, TokenBucket, Disruption } from "./lifecycle.ts";
import { evictionAt, Health } from "./taints.ts";
import { ConnectionTable, parseAdvisory } from "./connections.ts";
import { writeConditions, writeTaints, recordEvent, markPodNotReady, evictPod } from "./effects.ts";

export interface NodeControllerOptions {
  /** The system account's URL (with its credentials): enables the fast signal. */
  sysNatsUrl?: string;
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

async function connectSys(url: string, name: string): Promise<NatsConnection> {
  const u = new URL(url);
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  u.username = "";
  u.password = "";
  return connectNats(u.toString().replace(/\/$/, ""), name, undefined, { user, pass, pingInterval: 1000, maxPingOut: 2 });
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
  const leaseSeen = new Map<string, { renewTime?: string; at: number; renewedAt?: number }>();
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

  const nodeQueue: WorkQueue = new WorkQueue(
    async (name) => {
      const node = nodes.get(undefined, name);
      if (!node) {
        healths.delete(name);
        return;
      }
      const now = ctx.now();
      const seen = leaseSeen.get(name);
      const { health, recheckAt } = nodeHealth(
        { node, leaseObservedAt: seen?.at, leaseRenewedAt: seen?.renewedAt, disconnectedAt: conns.disconnectedAt(name), watchingSince, ignoreConnections: ignoreConnections() },
        now,
        lifecycle,
      );
      const before = healths.get(name);
      healths.set(name, health);
      if (before !== health) {
        const d = conns.disconnectedAt(name);
        log.info("node health", { node: name, health, was: before ?? null, leaseAgeMs: seen ? now - seen.at : null, disconnectedMs: d === undefined ? null : now - d });
      }
      const nowIso = new Date(now).toISOString();
      let cur = node;
      for (const cmd of decideNode(node, health, nowIso)) {
        if (cmd.type === "status") cur = await writeConditions(ctx.store, cur, cmd.conditions);
        else if (cmd.type === "taints") cur = await writeTaints(ctx.store, cur, cmd.taints);
        else if (cmd.type === "event") await recordEvent(ctx.store, { kind: "Node", name, uid: node.metadata.uid }, cmd.reason, cmd.message, cmd.reason === "NodeReady" ? "Normal" : "Warning", ctx.host);
        else for (const p of pods.byIndex("node", name)) await markPodNotReady(ctx.store, p, nowIso);
      }
      if (recheckAt !== undefined) nodeQueue.addAfter(name, Math.max(1, recheckAt - now + 5));
    },
    { log, baseDelayMs: 100, maxDelayMs: 5000 },
  );

  const podQueue: WorkQueue = new WorkQueue(
    async (key) => {
      const { namespace, name } = splitKey(key);
      const pod = pods.get(namespace, name);
      if (!pod || pod.metadata.deletionTimestamp || !pod.spec.nodeName) return;
      const node = nodes.get(undefined, pod.spec.nodeName);
      if (!node) return;
      const now = ctx.now();
      const at = evictionAt(pod, node.spec.taints, now);
      if (at === null) return;
      if (at > now) return podQueue.addAfter(key, at - now + 5);
      updateDisruption();
      if (!limiter.take(now)) {
        const wait = limiter.waitMs(now);
        return podQueue.addAfter(key, Number.isFinite(wait) ? Math.max(wait, 50) : 1000);
      }
      if (await evictPod(ctx.store, pod)) {
        log.info("evicted pod", { pod: key, node: node.metadata.name });
        const taint = (node.spec.taints ?? []).find((t) => t.effect === "NoExecute");
        await recordEvent(ctx.store, { kind: "Pod", namespace, name, uid: pod.metadata.uid }, "TaintManagerEviction", `Marking for deletion Pod ${key} (taint ${taint?.key ?? "?"})`, "Normal", ctx.host);
      }
    },
    { log, concurrency: 8, baseDelayMs: 200, maxDelayMs: 5000 },
  );

  const enqueuePodsOf = (nodeName: string) => {
    for (const p of pods.byIndex("node", nodeName)) podQueue.add(keyFor(p));
  };
  nodes.addHandlers({
    add: (n) => nodeQueue.add(n.metadata.name!),
    update: (old, n) => {
      nodeQueue.add(n.metadata.name!);
      if (JSON.stringify(old.spec.taints ?? []) !== JSON.stringify(n.spec.taints ?? [])) enqueuePodsOf(n.metadata.name!);
    },
    delete: (n) => nodeQueue.add(n.metadata.name!),
  });
  const onLease = (l: Lease) => {
    const name = l.metadata.name!;
    const prev = leaseSeen.get(name);
    if (prev && prev.renewTime === l.spec.renewTime) return;
    leaseSeen.set(name, { renewTime: l.spec.renewTime, at: ctx.now(), renewedAt: prev ? ctx.now() : undefined });
    conns.clearDrop(name);
    if (healths.get(name) !== Health.Ready) nodeQueue.add(name);
  };
  leases.addHandlers({ add: onLease, update: (_o, l) => onLease(l) });
  pods.addHandlers({
    add: (p) => p.spec.nodeName && podQueue.add(keyFor(p)),
    update: (old, p) => p.spec.nodeName && old.spec.nodeName !== p.spec.nodeName && podQueue.add(keyFor(p)),
  });

  // After our own reconnect (a NATS restart?) what we saw is stale: fresh grace, empty connection table.
  const refresh = () => {
    watchingSince = ctx.now();
    for (const [k, v] of leaseSeen) leaseSeen.set(k, { ...v, at: ctx.now() });
    conns.reset();
    for (const n of nodes.list()) nodeQueue.add(n.metadata.name!);
  };
  const watchStatus = async (nc: NatsConnection) => {
    for await (const s of nc.status()) if (s.type === "reconnect") refresh();
  };
  void watchStatus(ctx.nc).catch(() => undefined);

  let sys: NatsConnection | undefined;
  const subs: Subscription[] = [];
  if (opts.sysNatsUrl) {
    sys = await connectSys(opts.sysNatsUrl, `node-controller-sys/${ctx.id}`);
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
            nodeQueue.add(a.node);
            if (a.kind === "disconnect") nodeQueue.addAfter(a.node, o.disconnectGraceMs + 5);
          },
        }),
      );
    }
    await sys.flush();
  }

  await Promise.all([nodes.start(), leases.start(), pods.start()]);
  watchingSince = ctx.now();

  const tick = setInterval(updateDisruption, 1000);
  tick.unref();

  return {
    async stop() {
      clearInterval(tick);
      for (const s of subs) s.unsubscribe();
      nodes.stop();
      leases.stop();
      pods.stop();
      await nodeQueue.shutdown();
      await podQueue.shutdown();
      if (sys) await sys.close().catch(() => undefined);
    },
  };
}

export const nodeController: ActorDefinition<NodeControllerOptions> = {
  kind: "node-controller",
  leaderElected: true,
  start: startNodeController,
};
export default nodeController;
