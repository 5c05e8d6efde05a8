/**
 * One session between an HTTP client and a kubelet over NATS (bus/session-protocol.ts), seen from
 * the api-server: subscribes to the output first, asks the pod's kubelet to open the session, then
 * relays. The caller feeds input with `stdin`/`closeStdin`/`resize`, receives output through
 * `onData`, and `onExit` once. `credit(n)` acknowledges output the caller has passed on; `stdinBlocked`
 * tells the caller to stop reading its client until `onStdinOpen`.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { SessionOpen, SessionInput } from "../../bus/session-protocol.ts";
import { nanoid } from "nanoid";
import { subjects } from "../../bus/subjects.ts";
import { encode, decodeUntrusted } from "../../bus/codec.ts";
import { call } from "../../bus/request.ts";
import { decodeSessionOutput, SendWindow, SESSION_PING_MS } from "../../bus/session-protocol.ts";

type OpenFields = SessionOpen extends infer T ? (T extends SessionOpen ? Omit<T, "session"> : never) : never;

export interface Relay {
  stdin(data: Buffer): void;
  closeStdin(): void;
  resize(width: number, height: number): void;
  credit(bytes: number): void;
  readonly stdinBlocked: boolean;
  onStdinOpen(cb: () => void): void;
  /** Ends the session (the client went away). */
  cancel(): void;
}

export interface RelayHandlers {
  onData(stream: 1 | 2, data: Buffer): void;
  onExit(code: number, message?: string): void;
}

/** Opens the session on `node`; rejects with the kubelet's error (a FlotillaError) when it refuses. */
export async function openRelay(nc: NatsConnection, cluster: string, node: string, open: OpenFields, h: RelayHandlers): Promise<Relay> {
  const s = subjects(cluster);
  const id = nanoid(16).replace(/[^A-Za-z0-9]/g, "x");
  const input = s.session(id, "in");
  let finished = false;
  const window = new SendWindow();
  const send = (m: SessionInput) => {
    if (!finished) nc.publish(input, encode(m));
  };
  const sub = nc.subscribe(s.session(id, "out"), {
    callback: (_e, m) => {
      let out;
      try {
        out = decodeSessionOutput(decodeUntrusted(m.data, m.subject));
      } catch {
        return;
      }
      if (out.type === "ack") return window.acked(out.bytes);
      if (out.type === "data") return h.onData(out.stream, Buffer.from(out.data, "base64"));
      end();
      h.onExit(out.code, out.message);
    },
  });
  const ping = setInterval(() => send({ type: "ping" }), SESSION_PING_MS);
  ping.unref();
  const end = () => {
    finished = true;
    clearInterval(ping);
    sub.unsubscribe();
  };
  try {
    await call(nc, s.nodeVerb(node, "session"), { ...open, session: id }, 15_000);
  } catch (e) {
    end();
    throw e;
  }
  return {
    stdin(data) {
      window.sent(data.length);
      send({ type: "data", data: data.toString("base64") });
    },
    closeStdin: () => send({ type: "close-stdin" }),
    resize: (width, height) => send({ type: "resize", width, height }),
    credit: (bytes) => send({ type: "ack", bytes }),
    get stdinBlocked() {
      return window.blocked;
    },
    onStdinOpen: (cb) => window.onOpen(cb),
    cancel() {
      send({ type: "cancel" });
      end();
    },
  };
}
