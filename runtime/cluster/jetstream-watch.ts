/**
 * A server's watch over its own nats-server's JetStream API.
 *
 * nats-server 2.9.10 (Debian 12's) can be left, after a peer's nats-server dies and comes back,
 * with JetStream API requests from its clients getting no reply at all — not an error, none —
 * while its routes, plain messages and KV publishes still flow and the other servers answer the
 * same requests in a millisecond. Every read of the store through that server then times out,
 * and nothing heals it but a restart of that nats-server (seen in the chaos run; docs/operations.md).
 *
 * So each clustered server asks `$JS.API.INFO` through a connection to its own nats-server every
 * `intervalMs` (not while that connection is down). A reply of any kind (an error such as
 * "JetStream system temporarily unavailable" while the meta group elects a leader included) is an
 * answer. After `misses` silent asks in a
 * row, made while the connection stayed up, the server restarts its nats-server — never within
 * `cooldownMs` of any start of it (`started()`), so a nats-server still catching up is left alone,
 * and only when another server answers the same question (`askElsewhere`): a silence everywhere is
 * not this nats-server's to heal.
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

export const DEFAULT_JETSTREAM_WATCH = { intervalMs: 1000, timeoutMs: 2000, misses: 4, cooldownMs: 30_000 } as const;

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
  // Asked while the connection is down (the nats-server died and is not back yet), a request
  // waits for the reconnect and times out: that is no silence of a JetStream API.
  if (nc.isClosed() || !connected()) return "unknown";
  const before = epoch();
  try {
    await nc.request(subject, "", { timeout: timeoutMs });
    return "answered";
  } catch (e) {
    if (nc.isClosed() || epoch() !== before || !connected()) return "unknown";
    return isTimeout(e) ? "silent" : "answered";
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
  /** What is asked (specs ask a subject of their own). */
  subject?: string;
  /**
   * The same question through another server, asked before a restart. Only a silence of this
   * server alone is healed by restarting its nats-server; when the others are silent too (the
   * meta group elects a leader, the cluster is overloaded), restarting would only take one more
   * member away, and with every server deciding so at once, the quorum.
   */
  askElsewhere?: () => Promise<Ask>;
}): { started(): void; stop(): void } {
  const d = DEFAULT_JETSTREAM_WATCH;
  const p = { intervalMs: o.intervalMs ?? d.intervalMs, timeoutMs: o.timeoutMs ?? d.timeoutMs, misses: o.misses ?? d.misses, cooldownMs: o.cooldownMs ?? d.cooldownMs };
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
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    if (stopped) return;
    try {
      const a = await askJetStream(o.nc, p.timeoutMs, () => epoch, o.subject, () => connected);
      if (!stopped && counter.observe(a, Date.now())) {
        const elsewhere = o.askElsewhere ? await o.askElsewhere().catch((): Ask => "unknown") : "answered";
        if (elsewhere === "answered") {
          o.log.warn("this server's nats-server no longer answers JetStream API requests; restarting it", { silentAsks: p.misses, timeoutMs: p.timeoutMs });
          await o.restart();
        } else {
          counter.declined();
          o.log.warn("no server's JetStream API answers; this server's nats-server is left running", { silentAsks: p.misses, elsewhere });
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
