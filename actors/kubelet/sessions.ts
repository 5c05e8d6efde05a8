/**
 * Serves `…node.<name>.session`: exec, attach and port-forward sessions (bus/session-protocol.ts).
 * The kubelet checks the pod and container, starts the engine's session (or connects to the pod's
 * port), subscribes to the session's input subject and only then answers, so no input is lost; the
 * output goes to `session.<id>.out` within the send window, and the exit code comes last.
 */
import type { Msg } from "@nats-io/transport-node";
import type { Readable } from "node:stream";
import type { StreamSession } from "./engines/types.ts";
import type { SessionOpen, SessionOutput } from "../../bus/session-protocol.ts";
import { connect } from "node:net";
import { match } from "ts-pattern";
import { encode, decodeUntrusted } from "../../bus/codec.ts";
import { ErrorCode, FlotillaError, toWireError } from "../../bus/errors.ts";
import { decodeSessionOpen, decodeSessionInput, SendWindow, SESSION_IDLE_MS } from "../../bus/session-protocol.ts";
import { StartError } from "./engines/types.ts";
import { attemptsByName } from "./pod-sync.ts";
import type { LogsServerOptions } from "./logs.ts";

/** What a session server needs is what the logs server needs: the node's engine and its pods. */
export type SessionServerOptions = LogsServerOptions;

/** A TCP connection to the pod's port, as a session (stdin → the connection → stdout). */
function portSession(host: string, port: number): Promise<StreamSession> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    s.once("error", (e) => reject(new StartError(`error forwarding port ${port} to pod: ${e.message}`)));
    s.once("connect", () => {
      s.removeAllListeners("error");
      const done = new Promise<number>((r) => {
        s.once("close", () => r(0));
        s.on("error", () => undefined);
      });
      resolve({ stdin: s, stdout: s, resize: () => undefined, done, kill: () => s.destroy() });
    });
  });
}

export function serveSessions(o: SessionServerOptions): { stop(): void } {
  const live = new Set<() => void>();

  const open = async (req: SessionOpen): Promise<StreamSession> => {
    const pod = o.getPod(req.namespace, req.pod);
    if (!pod) throw new FlotillaError(ErrorCode.NotFound, `pods "${req.pod}" not found`);
    const mine = (await o.engine.listContainers()).filter((c) => c.pod.uid === pod.metadata.uid);
    if (req.type === "portforward") {
      const sandbox = (await o.engine.listSandboxes()).find((s) => s.pod.uid === pod.metadata.uid);
      if (!sandbox || !o.engine.podPortAddress) throw new FlotillaError(ErrorCode.BadRequest, `pod ${req.pod} has no running sandbox to forward to`);
      const a = o.engine.podPortAddress(sandbox, req.port);
      return portSession(a.host, a.port);
    }
    const c = attemptsByName(mine).get(req.container)?.[0];
    if (!c || c.state !== "running") throw new FlotillaError(ErrorCode.BadRequest, `container ${req.container} is not running in pod ${req.pod}`);
    const io = { stdin: req.stdin, tty: req.tty };
    const started = req.type === "exec" ? o.engine.execSession?.(c.id, req.command, io) : o.engine.attachSession?.(c.id, io);
    if (!started) throw new FlotillaError(ErrorCode.BadRequest, `the ${o.engine.name} engine does not support ${req.type}`);
    return started;
  };

  const run = (id: string, s: StreamSession) => {
    const out = o.subjects.session(id, "out");
    const send = (m: SessionOutput) => {
      try {
        o.nc.publish(out, encode(m));
      } catch (e) {
        o.log.debug("session output lost", { error: (e as Error).message });
      }
    };
    const window = new SendWindow();
    let lastHeard = Date.now();
    const pump = (r: Readable | undefined, stream: 1 | 2) =>
      new Promise<void>((resolve) => {
        if (!r) return resolve();
        r.on("data", (d: Buffer | string) => {
          const b = typeof d === "string" ? Buffer.from(d) : d;
          send({ type: "data", stream, data: b.toString("base64") });
          window.sent(b.length);
          if (window.blocked) {
            r.pause();
            window.onOpen(() => r.resume());
          }
        });
        r.once("end", () => resolve());
        r.once("close", () => resolve());
        r.once("error", () => resolve());
      });
    const sub = o.nc.subscribe(o.subjects.session(id, "in"), {
      callback: (_e, m) => {
        lastHeard = Date.now();
        let input;
        try {
          input = decodeSessionInput(decodeUntrusted(m.data, m.subject));
        } catch {
          return;
        }
        match(input)
          .with({ type: "data" }, ({ data }) => {
            const b = Buffer.from(data, "base64");
            if (!s.stdin || s.stdin.writableEnded) return send({ type: "ack", bytes: b.length });
            s.stdin.write(b, () => send({ type: "ack", bytes: b.length }));
          })
          .with({ type: "close-stdin" }, () => void s.stdin?.end())
          .with({ type: "resize" }, ({ width, height }) => s.resize(width, height))
          .with({ type: "ack" }, ({ bytes }) => window.acked(bytes))
          .with({ type: "ping" }, () => undefined)
          .with({ type: "cancel" }, () => s.kill())
          .exhaustive();
      },
    });
    const idle = setInterval(() => {
      if (Date.now() - lastHeard > SESSION_IDLE_MS) s.kill();
    }, 1000);
    idle.unref();
    const kill = () => s.kill();
    live.add(kill);
    s.stdin?.on("error", () => undefined);
    void Promise.all([pump(s.stdout, 1), pump(s.stderr, 2)])
      .then(() => s.done)
      .then(
        (code) => send({ type: "exit", code }),
        (e: unknown) => send({ type: "exit", code: -1, message: (e as Error).message }),
      )
      .finally(() => {
        clearInterval(idle);
        sub.unsubscribe();
        live.delete(kill);
      });
  };

  const handle = async (m: Msg) => {
    if (!m.reply) return;
    const reply = m.reply;
    try {
      const req = decodeSessionOpen(decodeUntrusted(m.data, m.subject));
      let s: StreamSession;
      try {
        s = await open(req);
      } catch (e) {
        if (e instanceof StartError) throw new FlotillaError(ErrorCode.BadRequest, e.message);
        throw e;
      }
      run(req.session, s);
      o.nc.publish(reply, encode({ ok: true, value: {} }));
    } catch (e) {
      o.nc.publish(reply, encode({ ok: false, error: toWireError(e) }));
    }
  };
  const sub = o.nc.subscribe(o.subjects.nodeVerb(o.nodeName, "session"), { callback: (_e, m) => void handle(m).catch((e) => o.log.warn("session failed", { error: String(e) })) });
  return {
    stop() {
      sub.unsubscribe();
      for (const k of live) k();
    },
  };
}
