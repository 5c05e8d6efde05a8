/** Maps JetStream/KV failures onto wire error codes. */
import { ErrorCode, FlotillaError, isTimeout } from "../../bus/errors.ts";

const WRONG_LAST_SEQUENCE = 10071;

export function isWrongLastSequence(e: unknown): boolean {
  const err = e as { code?: unknown; message?: string };
  return err?.code === WRONG_LAST_SEQUENCE || /wrong last sequence/i.test(String(err?.message ?? ""));
}

/** Anything else from KV: unavailable (retryable) unless it is already ours. */
export function kvFailure(e: unknown, what: string): FlotillaError {
  if (e instanceof FlotillaError) return e;
  const msg = (e as Error)?.message ?? String(e);
  if (isTimeout(e)) return new FlotillaError(ErrorCode.Timeout, `${what}: ${msg}`, { cause: e });
  return new FlotillaError(ErrorCode.Unavailable, `${what}: ${msg}`, { cause: e });
}
