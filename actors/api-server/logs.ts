/**
 * pods/log: forwards to the pod's kubelet over NATS (`…node.<node>.logs`, KubeletRequest /
 * LogFrame in bus/kubelet-protocol.ts) and streams the frames as `text/plain`. Following stops
 * when the HTTP client goes away (a message to `logCancelSubject(inbox)`).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { NatsConnection, Msg } from "@nats-io/transport-node";
import type { StoreClient } from "../../bus/store-client.ts";
import type { Pod } from "../../bus/resources.ts";
import type { KubeletRequest, LogFrame } from "../../bus/kubelet-protocol.ts";
import type { ResourceRoute } from "./routes.ts";
import { createInbox } from "@nats-io/transport-node";
import { subjects } from "../../bus/subjects.ts";
import { logCancelSubject, decodeLogFrame } from "../../bus/kubelet-protocol.ts";
import { encode, decodeUntrusted } from "../../bus/codec.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { int64Param, kubeBool } from "./query.ts";

export interface LogDeps {
  nc: NatsConnection;
  cluster: string;
  store: StoreClient;
}

/** How long to wait for the kubelet's first frame. */
export const FIRST_FRAME_MS = 10_000;

/** PodLogOptions' numbers: 400 when not an int64, 422 (as ValidatePodLogOptions words it) when out of range. */
const intParam = (q: URLSearchParams, name: string, pod: string, min: 0 | 1): number | undefined => {
  const n = int64Param(q, name);
  if (n === undefined || n >= min) return n;
  const must = min === 0 ? "must be greater than or equal to 0" : "must be greater than 0";
  const message = `Invalid value: ${n}: ${must}`;
  throw new FlotillaError(ErrorCode.Invalid, `PodLogOptions "${pod}" is invalid: ${name}: ${message}`, {
    details: { name: pod, kind: "PodLogOptions", causes: [{ reason: "FieldValueInvalid", message, field: name }] },
  });
};

/** Pod + query → the kubelet request (pure). Throws BadRequest for an unbound pod or an unknown container. */
export function logRequest(pod: Pod, q: URLSearchParams): { node: string; req: KubeletRequest } {
  const name = pod.metadata.name!;
  const node = pod.spec?.nodeName;
  if (!node) throw new FlotillaError(ErrorCode.BadRequest, `pod ${name} does not have a host assigned`);
  const names = (pod.spec?.containers ?? []).map((c) => c.name);
  let container = q.get("container") ?? undefined;
  if (!container) {
    if (names.length !== 1) {
      throw new FlotillaError(ErrorCode.BadRequest, `a container name must be specified for pod ${name}, choose one of: [${names.join(" ")}]`);
    }
    container = names[0];
  } else if (!names.includes(container) && !(pod.spec?.initContainers ?? []).some((c) => c.name === container)) {
    throw new FlotillaError(ErrorCode.BadRequest, `container ${container} is not valid for pod ${name}`);
  }
  const req: KubeletRequest = { type: "logs", namespace: pod.metadata.namespace!, pod: name, container };
  if (kubeBool(q, "follow")) req.follow = true;
  if (kubeBool(q, "timestamps")) req.timestamps = true;
  if (kubeBool(q, "previous")) req.previous = true;
  const tail = intParam(q, "tailLines", name, 0);
  if (tail !== undefined) req.tailLines = tail;
  const since = intParam(q, "sinceSeconds", name, 1);
  if (since !== undefined) req.sinceSeconds = since;
  const limit = intParam(q, "limitBytes", name, 1);
  if (limit !== undefined) req.limitBytes = limit;
  return { node, req };
}

export async function handleLogs(deps: LogDeps, req: IncomingMessage, res: ServerResponse, route: ResourceRoute, q: URLSearchParams): Promise<void> {
  const pod = await deps.store.get<Pod>("pods", route.namespace, route.name!);
  const { node, req: kreq } = logRequest(pod, q);
  const inbox = createInbox();
  const sub = deps.nc.subscribe(inbox);
  let done = false;
  let written = Promise.resolve();
  let firstTimer: NodeJS.Timeout | undefined;
  const finished = new Promise<void>((resolve, reject) => {
    /** Ends this one stream: an error before the first byte is the HTTP answer; after it, the stream is cut. */
    const end = (err?: FlotillaError) => {
      if (done) return;
      done = true;
      clearTimeout(firstTimer);
      sub.unsubscribe();
      if (err && !res.headersSent) return reject(err);
      // Cut after what was already written reached the socket, so the client sees the stream break.
      if (err) void written.then(() => res.destroy());
      else res.end();
      resolve();
    };
    firstTimer = setTimeout(() => end(new FlotillaError(ErrorCode.Timeout, `the kubelet on node ${node} did not answer within ${FIRST_FRAME_MS} ms`)), FIRST_FRAME_MS);
    req.on("close", () => {
      if (!done) deps.nc.publish(logCancelSubject(inbox));
      end();
    });
    const frames = async () => {
      for await (const m of sub as AsyncIterable<Msg>) {
        if (m.data.length === 0 && m.headers?.code === 503) {
          return end(new FlotillaError(ErrorCode.Unavailable, `no kubelet answers for node ${node}`));
        }
        clearTimeout(firstTimer);
        let f: LogFrame;
        try {
          f = decodeLogFrame(decodeUntrusted(m.data, inbox));
        } catch (e) {
          return end(new FlotillaError(ErrorCode.Internal, `the kubelet on node ${node} sent a malformed log frame: ${(e as Error).message}`));
        }
        if (f.type === "error") return end(FlotillaError.fromWire(f.error));
        if (f.type === "end") return end();
        if (!res.headersSent) res.writeHead(200, { "Content-Type": "text/plain", "Transfer-Encoding": "chunked" });
        const data = f.data;
        written = new Promise<void>((r) => res.write(data, () => r()));
      }
      end();
    };
    frames().catch((e: unknown) => end(new FlotillaError(ErrorCode.Internal, `log stream from node ${node} failed: ${(e as Error)?.message ?? String(e)}`)));
  });
  try {
    deps.nc.publish(subjects(deps.cluster).nodeVerb(node, "logs"), encode(kreq), { reply: inbox });
  } catch (e) {
    sub.unsubscribe();
    clearTimeout(firstTimer);
    throw new FlotillaError(ErrorCode.Unavailable, `cannot reach the kubelet on node ${node}: ${(e as Error).message}`);
  }
  await finished;
}
