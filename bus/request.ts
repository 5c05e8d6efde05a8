/**
 * Typed request/reply over NATS. Replies are data (`Reply<T>`); nothing is thrown across the bus.
 * A request with no responder fails fast with `Unavailable`, a slow one with `Timeout`.
 *
 * Requests go through one reply inbox per connection (`<inbox>.<token>`), like the client's own
 * request multiplexer but without building an error object for every request that succeeds.
 */
import type { NatsConnection, Msg, MsgHdrs, Subscription } from "@nats-io/transport-node";
import type { Reply } from "./errors.ts";
import { createInbox } from "@nats-io/transport-node";
import { ErrorCode, FlotillaError } from "./errors.ts";
import { encode, decode } from "./codec.ts";

export const DEFAULT_TIMEOUT_MS = 10_000;

interface Waiter {
  resolve: (m: Msg) => void;
  reject: (e: FlotillaError) => void;
  timer: NodeJS.Timeout;
  subject: string;
}

class Mux {
  private readonly prefix = createInbox();
  private readonly waiters = new Map<string, Waiter>();
  private readonly sub: Subscription;
  private next = 0;

  constructor(nc: NatsConnection) {
    this.sub = nc.subscribe(`${this.prefix}.*`, {
      callback: (_err, m) => {
        const token = m.subject.slice(this.prefix.length + 1);
        const w = this.waiters.get(token);
        if (!w) return;
        this.waiters.delete(token);
        clearTimeout(w.timer);
        // The server answers 503 when nobody subscribes to the subject.
        if (m.data.length === 0 && m.headers?.code === 503) {
          w.reject(new FlotillaError(ErrorCode.Unavailable, `no actor answers ${w.subject}`));
        } else w.resolve(m);
      },
    });
  }

  request(nc: NatsConnection, subject: string, data: Uint8Array, timeoutMs: number, headers?: MsgHdrs): Promise<Msg> {
    const token = (this.next++).toString(36);
    return new Promise<Msg>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(token);
        reject(new FlotillaError(ErrorCode.Timeout, `${subject} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(token, { resolve, reject, timer, subject });
      try {
        nc.publish(subject, data, headers ? { reply: `${this.prefix}.${token}`, headers } : { reply: `${this.prefix}.${token}` });
      } catch (e) {
        clearTimeout(timer);
        this.waiters.delete(token);
        reject(new FlotillaError(ErrorCode.Unavailable, `${subject}: ${(e as Error).message}`));
      }
    });
  }

  get closed(): boolean {
    return this.sub.isClosed();
  }
}

const muxes = new WeakMap<NatsConnection, Mux>();

function muxOf(nc: NatsConnection): Mux {
  let m = muxes.get(nc);
  if (!m || m.closed) {
    m = new Mux(nc);
    muxes.set(nc, m);
  }
  return m;
}

/** Sends one request (with NATS headers, if given) and waits for its reply message. */
export function requestMsg(nc: NatsConnection, subject: string, data: Uint8Array, timeoutMs = DEFAULT_TIMEOUT_MS, headers?: MsgHdrs): Promise<Msg> {
  return muxOf(nc).request(nc, subject, data, timeoutMs, headers);
}

export async function request<T>(nc: NatsConnection, subject: string, msg: unknown, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Reply<T>> {
  let data: Uint8Array;
  try {
    data = encode(msg);
  } catch (e) {
    // Too deep for JSON.stringify, a cycle, a BigInt: the caller's message is at fault, not the bus.
    return { ok: false, error: { code: ErrorCode.Invalid, message: `${subject}: the message cannot be encoded: ${(e as Error).message}` } };
  }
  try {
    const m = await requestMsg(nc, subject, data, timeoutMs);
    let r: unknown;
    try {
      r = decode(m.data);
    } catch {
      return malformed(subject, "not JSON");
    }
    return isReply<T>(r) ? r : malformed(subject, "not a reply envelope");
  } catch (e) {
    if (e instanceof FlotillaError) return { ok: false, error: e.toWire() };
    return { ok: false, error: { code: ErrorCode.Unavailable, message: `${subject}: ${(e as Error).message}` } };
  }
}

const isRec = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** `{ ok: true, value }` or `{ ok: false, error: { code, message } }`, nothing else. */
export function isReply<T>(r: unknown): r is Reply<T> {
  if (!isRec(r)) return false;
  if (r.ok === true) return true;
  return r.ok === false && isRec(r.error) && typeof r.error.code === "string" && Object.hasOwn(ErrorCode, r.error.code) && typeof r.error.message === "string";
}

const malformed = (subject: string, why: string): Reply<never> => ({ ok: false, error: { code: ErrorCode.Internal, message: `malformed reply from ${subject}: ${why}` } });

/** Like `request`, but unwraps the reply and throws a FlotillaError (inside this process only). */
export async function call<T>(nc: NatsConnection, subject: string, msg: unknown, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<T> {
  const r = await request<T>(nc, subject, msg, timeoutMs);
  if (!r.ok) throw FlotillaError.fromWire(r.error);
  return r.value;
}
