/**
 * exec, attach and port-forward sessions between the api-server and a kubelet.
 *
 *   api-server                                  kubelet of the pod's node
 *   subscribe session.<id>.out
 *   request node.<node>.session  SessionOpen ─▶ checks the pod, starts the process / connects,
 *                                              subscribes session.<id>.in
 *                               ◀─ reply ok / error (an error becomes the HTTP answer)
 *   session.<id>.in   SessionInput  ─▶  stdin bytes, stdin half-close, terminal resize, acks, pings
 *   session.<id>.out  SessionOutput ◀─  stdout / stderr bytes, acks, and last the exit
 *
 * Flow control: each side sends at most `SESSION_WINDOW` bytes that the other has not acknowledged
 * yet (`ack` after the bytes were written on), and stops reading its source until acks come back.
 * The api-server pings every `SESSION_PING_MS`; a kubelet that hears nothing for
 * `SESSION_IDLE_MS` ends the session (the api-server went away).
 */
import { ErrorCode, FlotillaError } from "./errors.ts";

export const SESSION_WINDOW = 1024 * 1024;
export const SESSION_PING_MS = 5_000;
export const SESSION_IDLE_MS = 20_000;

interface Target {
  session: string;
  namespace: string;
  pod: string;
}
export type SessionOpen =
  | (Target & { type: "exec"; container: string; command: string[]; stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean })
  | (Target & { type: "attach"; container: string; stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean })
  | (Target & { type: "portforward"; port: number });

export type SessionInput =
  | { type: "data"; data: string }
  | { type: "close-stdin" }
  | { type: "resize"; width: number; height: number }
  | { type: "ack"; bytes: number }
  | { type: "ping" }
  | { type: "cancel" };

/** `stream` 1 is stdout (or a port's data), 2 stderr. `code` -1 with a message: the session failed. */
export type SessionOutput = { type: "data"; stream: 1 | 2; data: string } | { type: "ack"; bytes: number } | { type: "exit"; code: number; message?: string };

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === "object" && v !== null && !Array.isArray(v);
const invalid = (m: string) => new FlotillaError(ErrorCode.Invalid, m);
const str = (v: unknown) => typeof v === "string" && v !== "";
const bool = (v: unknown) => typeof v === "boolean";
const count = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

export function decodeSessionOpen(raw: unknown): SessionOpen {
  if (!isRec(raw)) throw invalid("session request must be an object");
  if (!str(raw.session) || !str(raw.namespace) || !str(raw.pod)) throw invalid("session request needs session, namespace and pod");
  const t = { session: raw.session as string, namespace: raw.namespace as string, pod: raw.pod as string };
  if (raw.type === "portforward") {
    if (!count(raw.port) || (raw.port as number) < 1 || (raw.port as number) > 65535) throw invalid("port must be 1..65535");
    return { ...t, type: "portforward", port: raw.port as number };
  }
  if (raw.type !== "exec" && raw.type !== "attach") throw invalid(`unknown session type ${JSON.stringify(raw.type)}`);
  if (!str(raw.container)) throw invalid("container must be a non-empty string");
  for (const f of ["stdin", "stdout", "stderr", "tty"]) if (!bool(raw[f])) throw invalid(`${f} must be a boolean`);
  const io = { container: raw.container as string, stdin: raw.stdin as boolean, stdout: raw.stdout as boolean, stderr: raw.stderr as boolean, tty: raw.tty as boolean };
  if (raw.type === "attach") return { ...t, type: "attach", ...io };
  if (!Array.isArray(raw.command) || raw.command.length === 0 || !raw.command.every((c) => typeof c === "string")) throw invalid("command must be a non-empty list of strings");
  return { ...t, type: "exec", ...io, command: raw.command as string[] };
}

export function decodeSessionInput(raw: unknown): SessionInput {
  if (!isRec(raw)) throw invalid("session input must be an object");
  switch (raw.type) {
    case "data":
      if (typeof raw.data !== "string") throw invalid("data must be base64 text");
      return { type: "data", data: raw.data };
    case "resize":
      if (!count(raw.width) || !count(raw.height)) throw invalid("resize needs width and height");
      return { type: "resize", width: raw.width as number, height: raw.height as number };
    case "ack":
      if (!count(raw.bytes)) throw invalid("ack needs bytes");
      return { type: "ack", bytes: raw.bytes as number };
    case "close-stdin":
    case "ping":
    case "cancel":
      return { type: raw.type };
    default:
      throw invalid(`unknown session input ${JSON.stringify(raw.type)}`);
  }
}

export function decodeSessionOutput(raw: unknown): SessionOutput {
  if (!isRec(raw)) throw invalid("session output must be an object");
  switch (raw.type) {
    case "data":
      if ((raw.stream !== 1 && raw.stream !== 2) || typeof raw.data !== "string") throw invalid("data needs stream 1 or 2 and base64 text");
      return { type: "data", stream: raw.stream, data: raw.data };
    case "ack":
      if (!count(raw.bytes)) throw invalid("ack needs bytes");
      return { type: "ack", bytes: raw.bytes as number };
    case "exit":
      if (typeof raw.code !== "number" || !Number.isInteger(raw.code)) throw invalid("exit needs an integer code");
      return typeof raw.message === "string" ? { type: "exit", code: raw.code, message: raw.message } : { type: "exit", code: raw.code };
    default:
      throw invalid(`unknown session output ${JSON.stringify(raw.type)}`);
  }
}

/**
 * The sender's side of the window: `sent(n)` after sending n bytes; `acked(n)` when the peer
 * acknowledged them. `blocked` is true while the window is full; `onOpen` fires when it frees up.
 */
export class SendWindow {
  private inflight = 0;
  private waiters: (() => void)[] = [];
  constructor(private readonly size = SESSION_WINDOW) {}
  get blocked(): boolean {
    return this.inflight >= this.size;
  }
  sent(n: number): void {
    this.inflight += n;
  }
  acked(n: number): void {
    const was = this.blocked;
    this.inflight = Math.max(0, this.inflight - n);
    if (was && !this.blocked) for (const w of this.waiters.splice(0)) w();
  }
  onOpen(cb: () => void): void {
    if (!this.blocked) cb();
    else this.waiters.push(cb);
  }
}
