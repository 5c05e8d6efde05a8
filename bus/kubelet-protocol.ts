/**
 * The kubelet's request protocol on `…node.<name>.<verb>`.
 *
 * Logs are a streamed reply: the requester subscribes to an inbox, sends the request with that inbox
 * as reply subject, and receives `LogFrame`s until `end` or `error`. To stop a follow early it
 * publishes anything to `logCancelSubject(inbox)`; the kubelet also stops when the stream has lived
 * `maxSeconds` (default 1 h).
 */
import type { WireError } from "./errors.ts";
import { ErrorCode, FlotillaError } from "./errors.ts";

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

/** An error frame also reads as a failed reply envelope (`ok: false`), like every other error on the bus. */
export type LogFrame = { type: "data"; data: string } | { type: "end" } | { type: "error"; ok?: false; error: WireError };

/** Where a log requester says "stop following". Derived from the reply inbox. */
export function logCancelSubject(inbox: string): string {
  return `${inbox}.cancel`;
}

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === "object" && v !== null && !Array.isArray(v);
const invalid = (message: string) => new FlotillaError(ErrorCode.Invalid, message);
/** The longest a follow may be asked to last (a day); the default is an hour. */
export const MAX_LOG_SECONDS = 24 * 60 * 60;

function optional(r: Rec, field: string, ok: (v: unknown) => boolean, what: string): void {
  if (r[field] === null) delete r[field];
  if (r[field] !== undefined && !ok(r[field])) throw invalid(`${field} must be ${what}`);
}
const isBool = (v: unknown) => typeof v === "boolean";
const isCount = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** Decodes a kubelet request at the edge: every field of the right type, else `Invalid`. */
export function decodeKubeletRequest(raw: unknown): KubeletRequest {
  if (!isRec(raw)) throw invalid("request must be an object with a string `type`");
  const r = { ...raw };
  if (r.type === "stats") return { type: "stats" };
  if (r.type !== "logs") throw invalid(`unknown kubelet request type ${JSON.stringify(r.type) ?? "undefined"}`);
  if (typeof r.namespace !== "string" || r.namespace === "" || typeof r.pod !== "string" || r.pod === "") throw invalid("logs needs namespace and pod");
  optional(r, "container", (v) => typeof v === "string" && v !== "", "a non-empty string");
  for (const f of ["follow", "timestamps", "previous"]) optional(r, f, isBool, "a boolean");
  for (const f of ["tailLines", "sinceSeconds", "limitBytes"]) optional(r, f, isCount, "a non-negative integer");
  optional(r, "maxSeconds", (v) => isCount(v) && (v as number) > 0 && (v as number) <= MAX_LOG_SECONDS, `an integer from 1 to ${MAX_LOG_SECONDS}`);
  return r as KubeletRequest;
}

/** Decodes one frame of a log stream; a malformed frame is `Invalid` (the stream ends with it). */
export function decodeLogFrame(raw: unknown): LogFrame {
  if (!isRec(raw)) throw invalid("log frame must be an object with a string `type`");
  switch (raw.type) {
    case "data":
      if (typeof raw.data !== "string") throw invalid("a data frame carries a string `data`");
      return { type: "data", data: raw.data };
    case "end":
      return { type: "end" };
    case "error": {
      const e = raw.error;
      if (!isRec(e) || typeof e.code !== "string" || !Object.hasOwn(ErrorCode, e.code) || typeof e.message !== "string") {
        throw invalid("an error frame carries an error with a known `code` and a string `message`");
      }
      const error: WireError = { code: e.code as ErrorCode, message: e.message, ...(isRec(e.details) ? { details: e.details as WireError["details"] } : {}) };
      return raw.ok === false ? { type: "error", ok: false, error } : { type: "error", error };
    }
    default:
      throw invalid(`unknown log frame type ${JSON.stringify(raw.type) ?? "undefined"}`);
  }
}
