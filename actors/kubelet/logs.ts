/**
 * Serves `…node.<name>.logs` (and `stats`): a streamed reply of LogFrames to the requester's inbox.
 * `previous` reads the attempt before the newest; `follow` streams until the container exits, the
 * requester publishes to `logCancelSubject(inbox)`, or `maxSeconds` pass.
 */
import type { NatsConnection, Msg } from "@nats-io/transport-node";
import type { Pod } from "../../bus/resources.ts";
import type { KubeletRequest, LogFrame } from "../../bus/kubelet-protocol.ts";
import type { Subjects } from "../../bus/subjects.ts";
import type { Logger } from "../../runtime/logger.ts";
import type { Engine } from "./engines/types.ts";
import { logCancelSubject, decodeKubeletRequest } from "../../bus/kubelet-protocol.ts";
import { encode, decodeUntrusted } from "../../bus/codec.ts";
import { ErrorCode, FlotillaError, toWireError } from "../../bus/errors.ts";
import { attemptsByName } from "./pod-sync.ts";

export interface LogsServerOptions {
  nc: NatsConnection;
  subjects: Subjects;
  nodeName: string;
  engine: Engine;
  getPod(namespace: string, name: string): Pod | undefined;
  log: Logger;
}

export function serveLogs(o: LogsServerOptions): { stop(): void } {
  const active = new Set<() => void>();
  const publish = (reply: string, v: unknown) => {
    try {
      o.nc.publish(reply, encode(v));
    } catch (e) {
      o.log.warn("cannot answer a kubelet request", { error: (e as Error).message });
    }
  };
  const send = (reply: string, f: LogFrame) => publish(reply, f);
  const handle = async (m: Msg) => {
    if (!m.reply) return;
    const reply = m.reply;
    const statsSubject = m.subject === o.subjects.nodeVerb(o.nodeName, "stats");
    try {
      const req = decodeKubeletRequest(decodeUntrusted(m.data, m.subject));
      if ((req.type === "stats") !== statsSubject) throw new FlotillaError(ErrorCode.Invalid, `message type ${req.type} sent to ${m.subject}`);
      if (req.type === "stats") {
        const cs = await o.engine.listContainers();
        publish(reply, { ok: true, value: { node: o.nodeName, engine: o.engine.name, containers: cs.length, running: cs.filter((c) => c.state === "running").length } });
        return;
      }
      const pod = o.getPod(req.namespace, req.pod);
      if (!pod) throw new FlotillaError(ErrorCode.NotFound, `pods "${req.pod}" not found`);
      const names = pod.spec.containers.map((c) => c.name);
      const initNames = (pod.spec.initContainers ?? []).map((c) => c.name);
      const name = req.container ?? (names.length === 1 ? names[0] : undefined);
      if (!name) throw new FlotillaError(ErrorCode.BadRequest, `a container name must be specified for pod ${req.pod}, choose one of: [${names.join(" ")}]`);
      if (!names.includes(name) && !initNames.includes(name)) throw new FlotillaError(ErrorCode.BadRequest, `container ${name} is not valid for pod ${req.pod}`);
      const attempts = attemptsByName((await o.engine.listContainers()).filter((c) => c.pod.uid === pod.metadata.uid)).get(name) ?? [];
      const target = req.previous ? attempts[1] : attempts[0];
      if (!target) {
        throw new FlotillaError(ErrorCode.BadRequest, req.previous ? `previous terminated container "${name}" in pod "${req.pod}" not found` : `container "${name}" in pod "${req.pod}" is waiting to start: ContainerCreating`);
      }
      const stream = await o.engine.logs(target.id, { follow: req.follow && !req.previous, tailLines: req.tailLines, timestamps: req.timestamps, sinceSeconds: req.sinceSeconds });
      const cancel = () => stream.cancel();
      active.add(cancel);
      const sub = o.nc.subscribe(logCancelSubject(reply), { max: 1, callback: cancel });
      const timer = setTimeout(cancel, (req.maxSeconds ?? 3600) * 1000);
      let budget = req.limitBytes ?? Infinity;
      try {
        for await (const chunk of stream.chunks) {
          const data = budget < chunk.length ? chunk.slice(0, budget) : chunk;
          budget -= data.length;
          if (data) send(reply, { type: "data", data });
          if (budget <= 0) break;
        }
      } finally {
        stream.cancel();
        clearTimeout(timer);
        sub.unsubscribe();
        active.delete(cancel);
      }
      send(reply, { type: "end" });
    } catch (e) {
      if (statsSubject) publish(reply, { ok: false, error: toWireError(e) });
      else send(reply, { type: "error", ok: false, error: toWireError(e) });
    }
  };
  const subs = [
    o.nc.subscribe(o.subjects.nodeVerb(o.nodeName, "logs"), { callback: (_e, m) => void handle(m) }),
    o.nc.subscribe(o.subjects.nodeVerb(o.nodeName, "stats"), { callback: (_e, m) => void handle(m) }),
  ];
  return {
    stop() {
      for (const s of subs) s.unsubscribe();
      for (const c of active) c();
    },
  };
}
