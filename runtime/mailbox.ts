/**
 * Serves a request/reply protocol on a subject: decode and validate at the edge, then a mailbox that
 * hands the handler one message at a time (or `concurrency` at a time for stateless actors such as
 * the store), and a typed reply for everything — malformed input and thrown errors included.
 */
import type { Msg, Subscription } from "@nats-io/transport-node";
import type { ActorContext } from "./actor.ts";
import type { MessageLimits } from "../bus/codec.ts";
import { encode, decodeUntrusted } from "../bus/codec.ts";
import { ErrorCode, FlotillaError, toWireError, ok } from "../bus/errors.ts";
import { sliceSpent, nextSlice } from "./time-slice.ts";

export interface ServeOptions<M, R> {
  queue?: string;
  concurrency?: number;
  decode: (raw: unknown) => M;
  handle: (msg: M, raw: Msg) => Promise<R>;
  /** Reply with the handler's result (default true); false for handlers that reply themselves (streams). */
  autoReply?: boolean;
  /** Size and depth limits for incoming messages (defaults in bus/codec.ts). */
  limits?: MessageLimits;
  /** Requests that may wait for a free slot; more are answered TooManyRequests at once (default: no bound). */
  maxQueued?: number;
  /**
   * Requests served at once, past the queue and `concurrency`: Kubernetes' API Priority and
   * Fairness gives leader election and node heartbeats priority levels of their own, so that a
   * flood of other requests cannot make a leader miss its renewal. Only for requests whose number
   * is bounded by their senders (a lease per holder).
   */
  exempt?: (msg: M) => boolean;
}

/** What a full mailbox answers: come back in a second (the api-server sends it as 429 with Retry-After). */
export const TOO_MANY_REQUESTS = { code: ErrorCode.TooManyRequests, message: "Too many requests, please try again later.", details: { retryAfterSeconds: 1 } };

const MALFORMED: unique symbol = Symbol("malformed");

export function serve<M, R>(ctx: ActorContext, subject: string, opts: ServeOptions<M, R>): { stop(): Promise<void> } {
  const concurrency = opts.concurrency ?? 1;
  const mailbox: [Msg, M][] = [];
  let active = 0;
  let idle: (() => void) | undefined;
  const respond = (m: Msg, v: unknown) => {
    if (!m.reply) return;
    try {
      m.respond(encode(v));
    } catch (e) {
      // An answer the bus refuses (too large for the server, connection closing): say so instead.
      try {
        m.respond(encode({ ok: false, error: { code: ErrorCode.Internal, message: `cannot send the answer: ${(e as Error).message}` } }));
      } catch {
        ctx.log.warn("cannot answer", { subject: m.subject, error: (e as Error).message });
      }
    }
  };
  /** Decodes at arrival: a malformed message is answered at once (and MALFORMED returned). */
  const decoded = (m: Msg): M | typeof MALFORMED => {
    try {
      return opts.decode(decodeUntrusted(m.data, m.subject, opts.limits));
    } catch (e) {
      respond(m, { ok: false, error: e instanceof FlotillaError ? e.toWire() : { code: ErrorCode.Invalid, message: `malformed message on ${m.subject}: ${String((e as Error)?.message ?? e)}` } });
      return MALFORMED;
    }
  };
  const process = async (m: Msg, msg: M) => {
    let reply: unknown;
    try {
      reply = ok(await opts.handle(msg, m));
    } catch (e) {
      if (!(e instanceof FlotillaError)) ctx.log.error("handler failed", { subject: m.subject, error: (e as Error)?.stack ?? String(e) });
      reply = { ok: false, error: toWireError(e) };
    }
    if (opts.autoReply !== false || !(reply as { ok: boolean }).ok) respond(m, reply);
  };
  let exempted = 0;
  const run = (m: Msg, msg: M, done: () => void) =>
    void process(m, msg)
      .catch((e: unknown) => ctx.log.error("message lost", { subject: m.subject, error: String(e) }))
      .finally(done);
  let deferred = false;
  const pump = () => {
    if (deferred) return;
    while (active < concurrency && mailbox.length > 0) {
      // A queue of requests whose handlers finish without I/O would otherwise run as one task.
      if (sliceSpent()) {
        deferred = true;
        void nextSlice().then(() => {
          deferred = false;
          pump();
        });
        return;
      }
      const [m, msg] = mailbox.shift()!;
      active++;
      run(m, msg, () => {
        active--;
        pump();
      });
    }
    if (active === 0 && exempted === 0 && mailbox.length === 0) idle?.();
  };
  const sub: Subscription = ctx.nc.subscribe(subject, {
    queue: opts.queue,
    callback: (err, m) => {
      if (err) return;
      const msg = decoded(m);
      if (msg === MALFORMED) return;
      if (opts.exempt?.(msg)) {
        exempted++;
        return run(m, msg, () => {
          exempted--;
          pump();
        });
      }
      if (opts.maxQueued !== undefined && active >= concurrency && mailbox.length >= opts.maxQueued) return respond(m, { ok: false, error: TOO_MANY_REQUESTS });
      mailbox.push([m, msg]);
      pump();
    },
  });
  return {
    async stop() {
      await sub.drain().catch(() => undefined);
      if (active > 0 || exempted > 0 || mailbox.length > 0) await new Promise<void>((r) => (idle = r));
    },
  };
}

/** A decoder for `{type}` unions: checks `type` is one of the known ones, else Invalid. */
export function typedDecoder<M extends { type: string }>(known: readonly string[], validate?: (m: M) => void): (raw: unknown) => M {
  return (raw) => {
    if (!raw || typeof raw !== "object" || typeof (raw as { type?: unknown }).type !== "string") {
      throw new FlotillaError(ErrorCode.Invalid, "message must be an object with a string `type`");
    }
    const t = (raw as { type: string }).type;
    if (!known.includes(t)) throw new FlotillaError(ErrorCode.Invalid, `unknown message type ${JSON.stringify(t)}`);
    validate?.(raw as M);
    return raw as M;
  };
}
