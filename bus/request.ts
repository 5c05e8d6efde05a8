/**
 * Typed request/reply over NATS. Replies are data (`Reply<T>`); nothing is thrown across the bus.
 * A request with no responder fails fast with `Unavailable`, a slow one with `Timeout`.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { Reply } from "./errors.ts";
import { ErrorCode, FlotillaError } from "./errors.ts";
import { encode, decode } from "./codec.ts";

export const DEFAULT_TIMEOUT_MS = 10_000;

export async function request<T>(nc: NatsConnection, subject: string, msg: unknown, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Reply<T>> {
  try {
    const m = await nc.request(subject, encode(msg), { timeout: timeoutMs });
    return decode<Reply<T>>(m.data);
  } catch (e) {
    const err = e as Error & { code?: string };
    const text = `${err.name ?? ""} ${err.message ?? ""} ${err.code ?? ""} ${String((err as { cause?: unknown }).cause ?? "")}`;
    if (/no ?responders|503/i.test(text)) {
      return { ok: false, error: { code: ErrorCode.Unavailable, message: `no actor answers ${subject}` } };
    }
    if (/timeout/i.test(text)) {
      return { ok: false, error: { code: ErrorCode.Timeout, message: `${subject} did not answer within ${timeoutMs} ms` } };
    }
    return { ok: false, error: { code: ErrorCode.Unavailable, message: `${subject}: ${err.message}` } };
  }
}

/** Like `request`, but unwraps the reply and throws a FlotillaError (inside this process only). */
export async function call<T>(nc: NatsConnection, subject: string, msg: unknown, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<T> {
  const r = await request<T>(nc, subject, msg, timeoutMs);
  if (!r.ok) throw FlotillaError.fromWire(r.error);
  return r.value;
}
