/**
 * The limits a real api-server has, in one place: request line length, header bytes, body bytes,
 * the deadline of ordinary (non-watch, non-log) requests and the number of watches a user may hold
 * open at once. Defaults follow kube-apiserver where it has one (3 MiB bodies, 60 s requests).
 *
 * @example
 *   const limits = httpLimits({ requestTimeoutSeconds: 2, maxWatchesPerUser: 3 });
 *   const release = limits.watches.acquire("admin"); // throws TooManyRequests past 3
 *   release();
 */
import type { Route } from "./routes.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";

export interface HttpLimitOptions {
  /** Deadline of non-watch, non-log requests (kube-apiserver's --request-timeout). Default 60. */
  requestTimeoutSeconds?: number;
  /** Watches one user may hold open at once; the next one is answered 429. Default 200. */
  maxWatchesPerUser?: number;
  /** Longest request target (path + query) answered; longer ones get 414. Default 32 KiB. */
  maxUrlBytes?: number;
  /** Node's maxHeaderSize: request line + headers; more is a 431. Default 64 KiB. */
  maxHeaderBytes?: number;
}

export const DEFAULT_LIMITS = {
  requestTimeoutSeconds: 60,
  maxWatchesPerUser: 200,
  maxUrlBytes: 32 * 1024,
  maxHeaderBytes: 64 * 1024,
} as const;

/** kube-apiserver's request body limit (--max-request-bytes' default). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** Seconds a client is told to wait (`Retry-After`) when it holds too many watches. */
export const WATCH_RETRY_AFTER_SECONDS = 1;

export interface WatchSlots {
  /** Takes one of the user's watch slots, or throws TooManyRequests; the function gives it back (once). */
  acquire(user: string): () => void;
  open(user: string): number;
}

export function watchSlots(max: number): WatchSlots {
  const open = new Map<string, number>();
  return {
    acquire(user) {
      const n = open.get(user) ?? 0;
      if (n >= max) {
        throw new FlotillaError(ErrorCode.TooManyRequests, `too many watches open for user "${user}": the limit is ${max}`, {
          details: { retryAfterSeconds: WATCH_RETRY_AFTER_SECONDS },
        });
      }
      open.set(user, n + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (open.get(user) ?? 1) - 1;
        if (left > 0) open.set(user, left);
        else open.delete(user);
      };
    },
    open: (user) => open.get(user) ?? 0,
  };
}

export interface HttpLimits {
  requestTimeoutMs: number;
  maxUrlBytes: number;
  maxHeaderBytes: number;
  watches: WatchSlots;
}

export function httpLimits(o: HttpLimitOptions = {}): HttpLimits {
  return {
    requestTimeoutMs: (o.requestTimeoutSeconds ?? DEFAULT_LIMITS.requestTimeoutSeconds) * 1000,
    maxUrlBytes: o.maxUrlBytes ?? DEFAULT_LIMITS.maxUrlBytes,
    maxHeaderBytes: o.maxHeaderBytes ?? DEFAULT_LIMITS.maxHeaderBytes,
    watches: watchSlots(o.maxWatchesPerUser ?? DEFAULT_LIMITS.maxWatchesPerUser),
  };
}

/** Watches and logs stream for as long as they like; everything else has a deadline. */
export function isLongRunning(route: Route): boolean {
  return route.type === "resource" && (route.verb === "watch" || route.subresource === "log");
}
