/**
 * The kubelet's request protocol on `…node.<name>.<verb>`.
 *
 * Logs are a streamed reply: the requester subscribes to an inbox, sends the request with that inbox
 * as reply subject, and receives `LogFrame`s until `end` or `error`. To stop a follow early it
 * publishes anything to `logCancelSubject(inbox)`; the kubelet also stops when the stream has lived
 * `maxSeconds` (default 1 h).
 */
import type { WireError } from "./errors.ts";

export type KubeletRequest =
  | {
      type: "logs";
      namespace: string;
      pod: string;
      container?: string;
      follow?: boolean;
      tailLines?: number;
      timestamps?: boolean;
      previous?: boolean;
      sinceSeconds?: number;
      limitBytes?: number;
      maxSeconds?: number;
    }
  | { type: "stats" };

export type LogFrame = { type: "data"; data: string } | { type: "end" } | { type: "error"; error: WireError };

/** Where a log requester says "stop following". Derived from the reply inbox. */
export function logCancelSubject(inbox: string): string {
  return `${inbox}.cancel`;
}
