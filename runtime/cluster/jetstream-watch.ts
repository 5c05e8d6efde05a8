/**
 * A server's watch over its own nats-server's JetStream API.
 *
 * nats-server 2.9.10 (Debian 12's) can be left, after a peer's nats-server dies and comes back,
 * with JetStream API requests from its clients getting no reply at all — not an error, none —
 * while its routes, plain messages and KV publishes still flow and the other servers answer the
 * same requests in a millisecond. Every read of the store through that server then times out,
 * and nothing heals it but a restart of that nats-server (seen in the chaos run; docs/operations.md).
 *
 * The request may be one the meta leader answers (`$JS.API.INFO`) or one only a stream's leader
 * answers (`$JS.API.STREAM.INFO.<stream>`): which one goes unanswered depends on where the
 * leaders are. After a chaos run's freeze, every bucket's leader sat on the server whose
 * nats-server had been killed and restarted just before, and the two other servers' clients got
 * no stream info while `$JS.API.INFO` (its leader elsewhere) was answered everywhere; restarting
 * one of those nats-servers healed that server alone.
 *
 * So each clustered server asks every subject of `subjects` through a connection to its own
 * nats-server every `intervalMs` (not while that connection is down). A reply of any kind (an
 * error such as "JetStream system temporarily unavailable" while the meta group elects a leader
 * included) is an answer. After `misses` rounds in a row in which some subject was silent, asked
 * while the connection stayed up, the server restarts its nats-server:
 *   - never within `cooldownMs` of any start of it (`started()`), so a nats-server still catching
 *     up is left alone;
 *   - only when another server answers the silent subject (`askElsewhere`): a silence everywhere
 *     is not this nats-server's to heal. The server's `askElsewhere` also says no while another
 *     replica of the stream is not current (`othersCurrent`): that one is catching up, perhaps
 *     after a restart of its own, and two restarts at once would take the stream's quorum;
 *   - and when its own nats-server is still silent after a random pause of up to `jitterMs`:
 *     two servers that found the same silence in the same second do not restart together.
 *
 * @example
 *   const w = watchJetStreamApi({ nc, restart: () => nats.current.stop(), log });
 *   …
 *   w.stop();
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../logger.ts";
import { isTimeout } from "../../bus/errors.ts";

export type Ask = "answered" | "silent" | "unknown";

export interface JetStreamWatchPolicy {
  /** Silent asks in a row before a restart. */
  misses: number;
  /** No second restart within this long of the last. */
  cooldownMs: number;
}

/** Account info: answered by the JetStream meta leader for the asking connection's account. */
export const JS_API_INFO = "$JS.API.INFO";

export const DEFAULT_JETSTREAM_WATCH = { intervalMs: 1000, timeoutMs: 2000, misses: 4, cooldownMs: 30_000, jitterMs: 8_000 } as const;

/** Asked of a stream's leader only: its info. */
export const streamInfoSubject = (stream: string): string => `$JS.API.STREAM.INFO.${stream}`;

/** What a stream info reply says of its replicas (the leader's view). */
export interface StreamReplicas {
  cluster?: { leader?: string; replicas?: { name: string; current?: boolean; offline?: boolean }[] };
}

/**
 * Whether every replica of a stream other than `me` is current and online, from its leader's
 * stream info (pure). A reply without replicas (account info, an error) says nothing against it.
 */
export function othersCurrent(info: StreamReplicas, isMe: (natsName: string) => boolean): boolean {
  return (info.cluster?.replicas ?? []).every((r) => isMe(r.name) || (r.current === true && r.offline !== true));
}

/** The decision alone: fed each ask's outcome, says when to restart. */
export class SilenceCounter {
  private silent = 0;
  private lastRestart = -Infinity;

  constructor(private readonly p: JetStreamWatchPolicy) {}

  private restartBefore = -Infinity;

  /** Records one ask; true when the nats-server should be restarted now. */
  observe(a: Ask, now: number): boolean {
    if (a === "answered") this.silent = 0;
    if (a !== "silent") return false;
    this.silent++;
    if (this.silent < this.p.misses || now - this.lastRestart < this.p.cooldownMs) return false;
    this.silent = 0;
    this.restartBefore = this.lastRestart;
    this.lastRestart = now;
    return true;
  }

  /** The restart `observe` called for was not made: no cool-down starts from it. */
  declined(): void {
    this.lastRestart = this.restartBefore;
  }

  /**
   * The nats-server started again (for whatever reason): silences before it say nothing about
   * the new process, and a new one is not restarted within the cool-down (it is catching up:
   * a restart in the middle of a catch-up was seen to cut its copy of a bucket short).
   */
  started(now: number): void {
    this.silent = 0;
    this.lastRestart = now;
  }

  get silentInARow(): number {
    return this.silent;
  }
}

/**
 * One ask: answered (any reply), silent (no reply in time on a connection that stayed up) or
 * unknown. `epoch` counts the connection's disconnects and reconnects: a change during the ask (the
 * nats-server restarting) says nothing about its JetStream API.
 */
export async function askJetStream(nc: NatsConnection, timeoutMs: number, epoch: () => number, subject = JS_API_INFO, connected: () => boolean = () => true): Promise<Ask> {
  return (await askJetStreamReply(nc, timeoutMs, epoch, subject, connected)).ask;
}

/** `askJetStream`, with the reply's payload when one came (an error reply, such as no responders, has none). */
export async function askJetStreamReply(nc: NatsConnection, timeoutMs: number, epoch: () => number, subject = JS_API_INFO, connected: () => boolean = () => true): Promise<{ ask: Ask; data?: Uint8Array }> {
  // Asked while the connection is down (the nats-server died and is not back yet), a request
  // waits for the reconnect and times out: that is no silence of a JetStream API.
  if (nc.isClosed() || !connected()) return { ask: "unknown" };
  const before = epoch();
  try {
    const m = await nc.request(subject, "", { timeout: timeoutMs });
    return { ask: "answered", data: m.data };
  } catch (e) {
    if (nc.isClosed() || epoch() !== before || !connected()) return { ask: "unknown" };
    return { ask: isTimeout(e) ? "silent" : "answered" };
  }
}

/** `othersCurrent` of a stream info reply's payload; false without one, or when it is not JSON. */
export function othersCurrentIn(data: Uint8Array | undefined, isMe: (natsName: string) => boolean): boolean {
  if (!data) return false;
  try {
    return othersCurrent(JSON.parse(new TextDecoder().decode(data)) as StreamReplicas, isMe);
  } catch {
    return false;
  }
}

export function watchJetStreamApi(o: {
  nc: NatsConnection;
  restart: () => Promise<void>;
  log: Logger;
  intervalMs?: number;
  timeoutMs?: number;
  misses?: number;
  cooldownMs?: number;
  /** The longest random pause before a restart, after which the silence is asked again. */
  jitterMs?: number;
  /** What is asked each round (default `$JS.API.INFO`; specs ask subjects of their own). */
  subjects?: readonly string[];
  /**
   * The silent subject through another server, asked before a restart. Only a silence of this
   * server alone is healed by restarting its nats-server; when the others are silent too (the
   * meta group elects a leader, the cluster is overloaded), restarting would only take one more
   * member away, and with every server deciding so at once, the quorum.
   */
  askElsewhere?: (subject: string) => Promise<Ask>;
}): { started(): void; stop(): void } {
  const d = DEFAULT_JETSTREAM_WATCH;
  const p = { intervalMs: o.intervalMs ?? d.intervalMs, timeoutMs: o.timeoutMs ?? d.timeoutMs, misses: o.misses ?? d.misses, cooldownMs: o.cooldownMs ?? d.cooldownMs, jitterMs: o.jitterMs ?? 0 };
  const subjects = o.subjects?.length ? o.subjects : [JS_API_INFO];
  const counter = new SilenceCounter(p);
  let stopped = false;
  let epoch = 0;
  let connected = true;
  void (async () => {
    for await (const st of o.nc.status()) {
      if (st.type === "disconnect" || st.type === "reconnect") epoch++;
      if (st.type === "disconnect") connected = false;
      if (st.type === "reconnect") connected = true;
    }
  })().catch(() => undefined);
  const ask = (subject: string) => askJetStream(o.nc, p.timeoutMs, () => epoch, subject, () => connected);
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    if (stopped) return;
    try {
      const asks = await Promise.all(subjects.map(ask));
      const silentAt = asks.indexOf("silent");
      const round: Ask = silentAt >= 0 ? "silent" : asks.every((a) => a === "answered") ? "answered" : "unknown";
      if (!stopped && counter.observe(round, Date.now())) {
        const subject = subjects[silentAt]!;
        const elsewhere = o.askElsewhere ? await o.askElsewhere(subject).catch((): Ask => "unknown") : "answered";
        if (elsewhere !== "answered") {
          counter.declined();
          o.log.warn("JetStream API silent here and not answered elsewhere (or another replica is catching up); this server's nats-server is left running", { subject, silentAsks: p.misses, elsewhere });
        } else {
          if (p.jitterMs) await new Promise((r) => setTimeout(r, Math.random() * p.jitterMs));
          if (stopped) return;
          const again = await ask(subject);
          if (again === "silent") {
            o.log.warn("this server's nats-server no longer answers JetStream API requests; restarting it", { subject, silentAsks: p.misses, timeoutMs: p.timeoutMs });
            await o.restart();
          } else {
            counter.declined();
            o.log.info("JetStream API answered again before the restart; left running", { subject, ask: again });
          }
        }
      }
    } catch (e) {
      o.log.warn("JetStream API watch failed", { error: (e as Error).message });
    }
    if (!stopped) timer = setTimeout(() => void tick(), p.intervalMs);
  };
  timer = setTimeout(() => void tick(), p.intervalMs);
  return {
    /** Call after each start of the nats-server (`SilenceCounter.started`). */
    started() {
      counter.started(Date.now());
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
