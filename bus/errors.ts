/** Error codes that travel on the wire. The api-server maps them to HTTP statuses in one place. */
export const ErrorCode = {
  NotFound: "NotFound",
  AlreadyExists: "AlreadyExists",
  Conflict: "Conflict",
  Invalid: "Invalid",
  BadRequest: "BadRequest",
  Forbidden: "Forbidden",
  Unauthorized: "Unauthorized",
  Unavailable: "Unavailable",
  Timeout: "Timeout",
  Expired: "Expired",
  TooManyRequests: "TooManyRequests",
  UnsupportedMediaType: "UnsupportedMediaType",
  RequestEntityTooLarge: "RequestEntityTooLarge",
  MethodNotAllowed: "MethodNotAllowed",
  Internal: "Internal",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** One cause of an Invalid error: the field path and what is wrong with it (Kubernetes StatusCause). */
export interface Cause {
  field: string;
  reason: string;
  message: string;
}

export interface ErrorDetails {
  kind?: string;
  name?: string;
  group?: string;
  causes?: Cause[];
  retryAfterSeconds?: number;
}

export interface WireError {
  code: ErrorCode;
  message: string;
  details?: ErrorDetails;
}

export type Reply<T> = { ok: true; value: T } | { ok: false; error: WireError };

export const ok = <T>(value: T): Reply<T> => ({ ok: true, value });
export const fail = (code: ErrorCode, message: string, details?: ErrorDetails): Reply<never> => ({
  ok: false,
  error: details ? { code, message, details } : { code, message },
});

/** An error raised inside a process (never across the bus). Carries the wire error it decodes from. */
export class FlotillaError extends Error {
  override name = "FlotillaError";
  readonly code: ErrorCode;
  readonly details?: ErrorDetails;
  /** The same request may succeed later (controllers back off and retry on these). */
  readonly retryable: boolean;
  constructor(code: ErrorCode, message: string, opts: { details?: ErrorDetails; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.code = code;
    this.details = opts.details;
    this.retryable = code === ErrorCode.Conflict || code === ErrorCode.Unavailable || code === ErrorCode.Timeout || code === ErrorCode.TooManyRequests;
  }
  toWire(): WireError {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
  static fromWire(e: WireError): FlotillaError {
    return new FlotillaError(e.code, e.message, { details: e.details });
  }
}

export function isCode(e: unknown, code: ErrorCode): boolean {
  return e instanceof FlotillaError && e.code === code;
}

/** A request that got no answer in time: ours (bus/request.ts) or the NATS client's (`TimeoutError`). */
export function isTimeout(e: unknown): boolean {
  return isCode(e, ErrorCode.Timeout) || /timeout/i.test(String((e as Error)?.message ?? e));
}

/** Turns anything thrown into a wire error (unknown errors become Internal). */
export function toWireError(e: unknown): WireError {
  if (e instanceof FlotillaError) return e.toWire();
  return { code: ErrorCode.Internal, message: e instanceof Error ? e.message : String(e) };
}
