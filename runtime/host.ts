/**
 * The host starts any list of actors against a NATS URL: one connection per actor (named so the
 * server's advisories say who left), one more per bus identity that several of its actors share,
 * for their informers' KV watches (runtime/shared-watch.ts), a supervisor per actor, leader election for leader-elected
 * kinds, presence answers on `actors.ping`, and a graceful drain on SIGTERM/SIGINT.
 */
import type { NatsConnection, ConnectionOptions } from "@nats-io/transport-node";
import type { ActorContext, ActorSpec, Actor } from "./actor.ts";
import type { LeaderTerm } from "./leader.ts";
import type { BusIdentity, Credentials } from "./cluster/credentials.ts";
import type { SharedWatches, WatchFn } from "./shared-watch.ts";
import { connect, credsAuthenticator, createInbox } from "@nats-io/transport-node";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { nanoid } from "nanoid";
import { subjects, DEFAULT_CLUSTER } from "../bus/subjects.ts";
import { StoreClient } from "../bus/store-client.ts";
import { encode, decode } from "../bus/codec.ts";
import { ErrorCode, fail } from "../bus/errors.ts";
import { createLogger } from "./logger.ts";
import { Supervisor } from "./supervisor.ts";
import { LeaderElector, leaseStore, monotonicClock } from "./leader.ts";
import { VERSION } from "./actor.ts";
import { readCredentials, natsUserOf } from "./cluster/credentials.ts";
import { createSharedWatches, serveWatches } from "./shared-watch.ts";
import { clusterTls } from "./cluster/client-tls.ts";
import { containProcessFaults, guardSubscriptions, reportFault, runInActorScope, FaultOrigin } from "./containment.ts";

export interface HostOptions {
  natsUrl: string;
  creds?: string;
  /** Each actor's own NATS user, by who it is (a store, a node, the control plane). */
  credentials?: CredentialsFor;
  cluster?: string;
  actors: ActorSpec[];
  /** Lease timing for leader-elected actors (ms). */
  leaseDurationMs?: number;
  /** Install SIGTERM/SIGINT handlers that stop everything (the CLI does; specs do not). */
  handleSignals?: boolean;
  /** Told the moment a leader-elected actor starts or stops acting as leader. */
  onLeadership?: (change: LeadershipChange) => void;
  /**
   * Contain process-level faults (default true): an uncaught exception or unhandled rejection is
   * attributed to the actor it came from, logged, and that actor restarted; the process goes on.
   */
  containFaults?: boolean;
  /** NATS connection options for every actor's connection (an actor's own `connectOptions` win). */
  natsOptions?: Partial<ConnectionOptions>;
}

export type CredentialsFor = (id: BusIdentity) => Credentials | undefined;

export interface LeadershipChange {
  kind: string;
  id: string;
  leading: boolean;
  /** When it changed, on the host's monotonic clock (performance.now()); a term that ran out ends at its deadline. */
  at: number;
}

export interface RunningActor {
  kind: string;
  id: string;
  nc: NatsConnection;
  isLeader(): boolean;
  supervisor: Supervisor;
  stop(): Promise<void>;
}

export interface Host {
  actors: RunningActor[];
  stop(): Promise<void>;
}

export interface PresenceInfo {
  kind: string;
  id: string;
  host: string;
  version: string;
  leader: boolean | null;
  uptimeSeconds: number;
  cluster: string;
  pid: number;
}

/** Splits `nats://user:pass@host:port,…` into server URLs and the (first) user and password. */
export function parseNatsUrls(url: string): { servers: string[]; user?: string; pass?: string } {
  let user: string | undefined;
  let pass: string | undefined;
  const servers = url.split(",").map((raw) => {
    const m = /^([a-z-]+:\/\/)([^@/]*)@(.*)$/.exec(raw.trim());
    if (!m) return raw.trim();
    const [u, p] = m[2]!.split(":");
    user ??= decodeURIComponent(u ?? "");
    pass ??= p === undefined ? undefined : decodeURIComponent(p);
    return m[1]! + m[3]!;
  });
  return { servers, user, pass };
}

/**
 * Connects with, in this order: `creds` (a credentials file — ours, `{ user, password, caFile? }`,
 * or a NATS `.creds` JWT file — or the credentials themselves), else the user and password in the URL.
 */
export async function connectNats(url: string, name: string, creds?: string | Credentials, extra: Partial<ConnectionOptions> = {}): Promise<NatsConnection> {
  const parsed = parseNatsUrls(url);
  const own = typeof creds === "string" ? readCredentials(creds) : creds;
  const opts: ConnectionOptions = {
    servers: parsed.servers,
    ...(parsed.user ? { user: parsed.user, pass: parsed.pass } : {}),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 2000,
    maxPingOut: 3,
    // Stack traces captured for every request cost more than the request itself at scale.
    noAsyncTraces: true,
    ...extra,
  };
  if (own) {
    opts.user = own.user;
    opts.pass = own.password;
    if (own.caFile) opts.tls = { caFile: own.caFile };
  } else if (typeof creds === "string") opts.authenticator = credsAuthenticator(readFileSync(creds));
  // A cluster CA: the server's certificate must chain to it and name the address reached.
  // (nats.js hands its tls options on to Node's tls.connect, checkServerIdentity included.)
  if (opts.tls?.caFile && !("checkServerIdentity" in opts.tls)) opts.tls = { ...opts.tls, ...clusterTls(opts.tls.caFile) };
  try {
    return await connect(opts);
  } catch (e) {
    throw new Error(`${NATS_UNREACHABLE} at ${url} (connection ${name}): ${(e as Error).message}. Is the cluster up (flotilla up) or the --nats URL right?`);
  }
}

const NATS_UNREACHABLE = "cannot reach NATS";
/** Whether `connectNats` (or a start that made a connection) failed because no NATS server answered. */
export function isNatsUnreachable(e: unknown): boolean {
  return e instanceof Error && e.message.startsWith(NATS_UNREACHABLE);
}

/**
 * The watch connections of a host: one per bus identity that two or more of its actors have (same
 * credentials, so the same permissions), opened at the first informer and closed with the last
 * actor. Informers on those actors' connections share one KV watch per bucket and filter.
 */
export interface WatchPool {
  /** The shared watch for one actor (its subscriptions end with `release`), if its identity shares. */
  lease(identity: BusIdentity, creds: string | Credentials | undefined): { watch: WatchFn; release(): Promise<void> } | undefined;
  close(): Promise<void>;
}

export function watchPool(o: { natsUrl: string; natsOptions?: Partial<ConnectionOptions> }, specs: ActorSpec[]): WatchPool {
  const count = new Map<string, number>();
  for (const spec of specs) {
    const key = JSON.stringify(identityOf(spec));
    count.set(key, (count.get(key) ?? 0) + 1);
  }
  const entries = new Map<string, { watches: SharedWatches; refs: number }>();
  const log = createLogger("host");
  return {
    lease(identity, creds) {
      const key = JSON.stringify(identity);
      if ((count.get(key) ?? 0) < 2) return undefined;
      let e = entries.get(key);
      if (!e) {
        const name = `watch/${natsUserOf(identity)}`;
        const connect = async () => guardSubscriptions(await connectNats(o.natsUrl, name, creds, { ...o.natsOptions }), (err) => reportFault(FaultOrigin.callback, err, undefined, log));
        // A node's connection learns every server and may move to another; a server's stays on its own.
        e = { watches: createSharedWatches({ connect, log: log.child({ watches: name }), failover: !o.natsOptions?.ignoreClusterUpdates }), refs: 0 };
        entries.set(key, e);
      }
      const entry = e;
      entry.refs++;
      const mine = entry.watches.forActor();
      let released = false;
      return {
        watch: mine.watch,
        async release() {
          if (released) return;
          released = true;
          mine.stop();
          if (--entry.refs > 0) return;
          if (entries.get(key) === entry) entries.delete(key);
          await entry.watches.close();
        },
      };
    },
    async close() {
      for (const e of [...entries.values()]) await e.watches.close();
      entries.clear();
    },
  };
}

const identityOf = (spec: ActorSpec): BusIdentity => spec.def.identity?.(spec.opts ?? {}) ?? { role: "control" };

export async function startActor(
  spec: ActorSpec,
  o: { natsUrl: string; creds?: string; credentials?: CredentialsFor; cluster: string; leaseDurationMs?: number; onLeadership?: (change: LeadershipChange) => void; natsOptions?: Partial<ConnectionOptions>; watches?: WatchPool },
): Promise<RunningActor> {
  const { def } = spec;
  const opts = spec.opts ?? {};
  const identity: BusIdentity = identityOf(spec);
  const creds = o.credentials?.(identity) ?? o.creds;
  const id = `${def.kind}-${nanoid(6)}`;
  const log = createLogger(def.kind, { id });
  // The connection belongs to the actor: whatever its socket delivers runs in the actor's scope,
  // and a fault there restarts the instance that is current at the time.
  let crashCurrent: (e: unknown) => void = () => undefined;
  const actorScope = { kind: def.kind, id, crash: (e: unknown) => crashCurrent(e) };
  const nc = guardSubscriptions(
    await runInActorScope(actorScope, () => connectNats(o.natsUrl, def.connectionName?.(opts, id) ?? `${def.kind}/${id}`, creds, { ...o.natsOptions, ...def.connectOptions })),
    (e) => reportFault(FaultOrigin.callback, e, actorScope, log),
  );
  const shared = o.watches?.lease(identity, creds);
  if (shared) serveWatches(nc, shared.watch);
  const s = subjects(o.cluster);
  const store = new StoreClient(nc, o.cluster, undefined, identity.role === "node" ? { asNode: identity.node } : {});
  const started = Date.now();
  let elector: LeaderElector | undefined;
  // The latest term of a leader-elected actor: each instance is started with the term it runs in,
  // writes through a store client fenced with it, and sees its signal abort when the term ends.
  let term: LeaderTerm | undefined;
  const ctxFor = (crash: (e: unknown) => void, signal: AbortSignal): ActorContext => {
    const t = term;
    return {
      nc,
      cluster: o.cluster,
      subjects: s,
      store: t ? store.fenced(t) : store,
      kind: def.kind,
      id,
      host: hostname(),
      version: VERSION,
      log,
      signal: t ? AbortSignal.any([signal, t.signal]) : signal,
      now: Date.now,
      isLeader: () => (t ? !t.signal.aborted && t.remainingMs() > 0 : !elector),
      crash,
    };
  };
  const supervisor = new Supervisor({
    log,
    // A leader whose term ended is stopped next (onStopped); what fails in between is that stop.
    ending: () => !!term?.signal.aborted,
    start: (crash, signal): Promise<Actor> => {
      crashCurrent = crash;
      return runInActorScope({ kind: def.kind, id, crash }, () => def.start(ctxFor(crash, signal), opts));
    },
  });
  if (def.leaderElected) {
    // Starts and stops of the actor run one after the other, in the order the terms begin and end.
    let transitions = Promise.resolve();
    const then = (fn: () => Promise<void>) => (transitions = transitions.then(fn).catch((e: unknown) => log.warn("leader transition failed", { error: (e as Error).message })));
    elector = new LeaderElector({
      store: leaseStore(store),
      name: def.kind,
      identity: id,
      leaseDurationMs: o.leaseDurationMs,
      log,
      onStarted: (t) => {
        term = t;
        o.onLeadership?.({ kind: def.kind, id, leading: true, at: monotonicClock.now() });
        void then(() => supervisor.start());
      },
      onStopped: (_reason, at) => {
        o.onLeadership?.({ kind: def.kind, id, leading: false, at });
        return then(() => supervisor.stop());
      },
    });
    elector.start();
  } else {
    await supervisor.start();
  }
  const presence = nc.subscribe(s.actorsPing(), {
    callback: (_e, m) => {
      // A ping carries nothing, or an empty JSON object; anything else is answered with Invalid.
      if (!isPing(m.data)) {
        if (m.reply) m.respond(encode(fail(ErrorCode.Invalid, `malformed message on ${m.subject}: a ping carries no payload or {}`)));
        return;
      }
      const info: PresenceInfo = {
        kind: def.kind,
        id,
        host: hostname(),
        version: VERSION,
        leader: elector ? elector.isLeader : null,
        uptimeSeconds: Math.round((Date.now() - started) / 1000),
        cluster: o.cluster,
        pid: process.pid,
      };
      if (m.reply) m.respond(encode(info));
    },
  });
  return {
    kind: def.kind,
    id,
    nc,
    supervisor,
    isLeader: () => (elector ? elector.isLeader : true),
    async stop() {
      presence.unsubscribe();
      if (elector) await elector.stop();
      await supervisor.stop();
      await nc.drain().catch(() => nc.close());
      await shared?.release();
    },
  };
}

export async function startHost(o: HostOptions): Promise<Host> {
  const cluster = o.cluster ?? DEFAULT_CLUSTER;
  const release = o.containFaults === false ? () => undefined : containProcessFaults();
  const actors: RunningActor[] = [];
  const watches = watchPool(o, o.actors);
  try {
    for (const spec of o.actors) actors.push(await startActor(spec, { natsUrl: o.natsUrl, creds: o.creds, credentials: o.credentials, cluster, leaseDurationMs: o.leaseDurationMs, onLeadership: o.onLeadership, natsOptions: o.natsOptions, watches }));
  } catch (e) {
    for (const a of [...actors].reverse()) await a.stop().catch(() => undefined);
    await watches.close();
    release();
    throw e;
  }
  let stopping: Promise<void> | undefined;
  const host: Host = {
    actors,
    stop() {
      stopping ??= (async () => {
        for (const a of [...actors].reverse()) await a.stop().catch(() => undefined);
        await watches.close();
        release();
      })();
      return stopping;
    },
  };
  if (o.handleSignals) installSignalHandlers(() => host.stop());
  return host;
}

/** An empty payload or an empty JSON object. */
function isPing(data: Uint8Array): boolean {
  if (data.length === 0) return true;
  if (data.length > 64) return false;
  try {
    const v: unknown = decode(data);
    return typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
  } catch {
    return false;
  }
}

/** SIGTERM/SIGINT → graceful drain, then exit; a second signal exits at once. */
export function installSignalHandlers(stop: () => Promise<void>): void {
  let n = 0;
  const onSignal = (sig: string) => {
    n++;
    if (n > 1) process.exit(130);
    createLogger("host").info(`${sig}: stopping`);
    const t = setTimeout(() => process.exit(1), 15_000);
    t.unref();
    void stop().then(() => process.exit(0));
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
}

/** Scatter-gather on actors.ping: every live actor answers. */
export async function pingActors(nc: NatsConnection, cluster: string, waitMs = 300): Promise<PresenceInfo[]> {
  const out: PresenceInfo[] = [];
  const inbox = createInbox();
  const sub = nc.subscribe(inbox, {
    callback: (_e, m) => {
      try {
        out.push(JSON.parse(new TextDecoder().decode(m.data)) as PresenceInfo);
      } catch {
        // ignore malformed answers
      }
    },
  });
  nc.publish(subjects(cluster).actorsPing(), new Uint8Array(), { reply: inbox });
  await new Promise((r) => setTimeout(r, waitMs));
  sub.unsubscribe();
  return out.sort((a, b) => a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id));
}
