/**
 * The bus side of the fuzzer: generated messages to every subject an actor serves (the store's
 * verbs, each kubelet's logs and stats, actors.ping), a sender that reads the first answer, and
 * the oracle: an answer comes, and it is a reply envelope (or a log frame) whose error, if any,
 * is typed and not Internal.
 */
import fc from "fast-check";
import type { NatsConnection } from "@nats-io/transport-node";
import type { StoreVerb } from "../../bus/subjects.ts";
import type { Json, Mutation } from "./objects.ts";
import { createInbox } from "@nats-io/transport-node";
import { subjects } from "../../bus/subjects.ts";
import { STORE_REQUEST_TYPES, PatchType } from "../../bus/store-protocol.ts";
import { logCancelSubject, decodeLogFrame } from "../../bus/kubelet-protocol.ts";
import { isReply } from "../../bus/request.ts";
import { ErrorCode } from "../../bus/errors.ts";
import { validObject, mutate, mutationArb, tame, nested, resourceArb, nameArb, namespaceArb, FUZZ_NS } from "./objects.ts";

export type Target = { type: "store"; verb: StoreVerb } | { type: "node"; node: string; verb: "logs" | "stats" } | { type: "ping" };

export type Payload =
  | { type: "request"; value: Json; mutations: Mutation[] }
  | { type: "text"; text: string }
  | { type: "nested"; depth: number; kind: "array" | "object" }
  | { type: "huge"; bytes: number };

export interface BusCase {
  target: Target;
  payload: Payload;
}

const STORE_VERBS = STORE_REQUEST_TYPES as readonly StoreVerb[];

/** A well-formed store request of a type (often sent to another verb's subject: that is a finding too). */
function storeRequestArb(): fc.Arbitrary<Json> {
  return fc
    .record({
      type: fc.constantFrom(...STORE_VERBS),
      rt: resourceArb,
      ns: namespaceArb,
      name: nameArb,
      patchType: fc.constantFrom(...Object.values(PatchType)),
      dryRun: fc.boolean(),
      limit: fc.option(fc.nat(20), { nil: undefined }),
      selector: fc.option(fc.constantFrom("app=fz", "app!=fz", "((", "metadata.name=fz-a"), { nil: undefined }),
      grace: fc.option(fc.integer({ min: -1, max: 30 }), { nil: undefined }),
      sub: fc.option(fc.constantFrom("status", "scale"), { nil: undefined }),
    })
    .map((r): Json => {
      const ns = r.rt.namespaced ? r.ns : undefined;
      const target = { resource: r.rt.resource, ...(ns !== undefined ? { namespace: ns } : {}), name: r.name };
      const object = validObject(r.rt, r.name, ns);
      switch (r.type) {
        case "get":
          return { type: "get", ...target };
        case "list":
          return { type: "list", resource: r.rt.resource, ...(ns !== undefined ? { namespace: ns } : {}), ...(r.limit !== undefined ? { limit: r.limit } : {}), ...(r.selector ? { labelSelector: r.selector } : {}) };
        case "create":
          return { type: "create", resource: r.rt.resource, ...(ns !== undefined ? { namespace: ns } : {}), object, dryRun: r.dryRun };
        case "update":
          return { type: "update", ...target, object, ...(r.sub ? { subresource: r.sub } : {}) };
        case "status":
          return { type: "status", ...target, object: { ...object, status: {} } };
        case "patch":
          return { type: "patch", ...target, patchType: r.patchType, patch: r.patchType === "json" ? [{ op: "add", path: "/metadata/labels/fuzzed", value: "yes" }] : { metadata: { labels: { fuzzed: "yes" } } }, ...(r.sub ? { subresource: r.sub } : {}) };
        case "delete":
          return { type: "delete", ...target, ...(r.grace !== undefined ? { options: { gracePeriodSeconds: r.grace } } : {}) };
        case "bind":
          return { type: "bind", namespace: r.ns, name: r.name, node: "node-1" };
        case "bindAll":
          return { type: "bindAll", bindings: [{ namespace: r.ns, name: r.name, node: "node-1" }] };
        case "evict":
          return { type: "evict", namespace: r.ns, name: r.name };
      }
    });
}

function kubeletRequestArb(): fc.Arbitrary<Json> {
  return fc.oneof(
    fc.constant<Json>({ type: "stats" }),
    fc.record({
      type: fc.constant("logs"),
      namespace: fc.constantFrom(FUZZ_NS, "default"),
      pod: nameArb,
      container: fc.option(fc.constantFrom("c", "main", "nope"), { nil: undefined }),
      follow: fc.option(fc.boolean(), { nil: undefined }),
      tailLines: fc.option(fc.nat(100), { nil: undefined }),
      maxSeconds: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
    }).map((r) => JSON.parse(JSON.stringify(r)) as Json),
  );
}

function payloadArb(requests: fc.Arbitrary<Json>): fc.Arbitrary<Payload> {
  return fc.oneof(
    { arbitrary: requests.map((value): Payload => ({ type: "request", value, mutations: [] })), weight: 5 },
    { arbitrary: fc.tuple(requests, fc.array(mutationArb, { minLength: 1, maxLength: 3 })).map(([value, mutations]): Payload => ({ type: "request", value, mutations })), weight: 6 },
    { arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v): Payload => ({ type: "request", value: v as Json, mutations: [] })), weight: 2 },
    { arbitrary: fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom("", "{", "nul", "\u00ff\u00fe", '{"type":"get","__proto__":{"polluted":1}}', '{"type":"list","resource":"pods","constructor":{"prototype":{"polluted":1}}}')).map((text): Payload => ({ type: "text", text })), weight: 2 },
    { arbitrary: fc.record({ depth: fc.constantFrom(99, 101, 5000, 100000), kind: fc.constantFrom<"array" | "object">("array", "object") }).map((n): Payload => ({ type: "nested", ...n })), weight: 1 },
    { arbitrary: fc.constant<Payload>({ type: "huge", bytes: 5 * 1024 * 1024 }), weight: 1 },
  );
}

export function busCaseArb(nodes: string[]): fc.Arbitrary<BusCase> {
  const store = fc.record({ target: fc.constantFrom(...STORE_VERBS).map((verb): Target => ({ type: "store", verb })), payload: payloadArb(storeRequestArb()) });
  const node = fc.record({
    target: fc.record({ node: fc.constantFrom(...nodes), verb: fc.constantFrom<"logs" | "stats">("logs", "stats") }).map((t): Target => ({ type: "node", ...t })),
    payload: payloadArb(kubeletRequestArb()),
  });
  const ping = fc.record({ target: fc.constant<Target>({ type: "ping" }), payload: payloadArb(fc.oneof(fc.constant<Json>({}), fc.jsonValue({ maxDepth: 1 }).map((v) => v as Json))) });
  return fc.oneof({ arbitrary: store, weight: 7 }, { arbitrary: node, weight: 2 }, { arbitrary: ping, weight: 1 });
}

export function subjectOf(cluster: string, t: Target): string {
  const s = subjects(cluster);
  switch (t.type) {
    case "store":
      return s.store(t.verb);
    case "node":
      return s.nodeVerb(t.node, t.verb);
    case "ping":
      return s.actorsPing();
  }
}

export function dataOf(p: Payload): Uint8Array {
  switch (p.type) {
    case "request":
      return Buffer.from(JSON.stringify(tame(p.mutations.length ? mutate(p.value as Record<string, Json>, p.mutations) : p.value)));
    case "text":
      return Buffer.from(p.text, "latin1");
    case "nested":
      return Buffer.from(nested(p.depth, p.kind));
    case "huge":
      return Buffer.alloc(p.bytes, 0x7b);
  }
}

export interface BusAnswer {
  data?: Uint8Array;
  error?: string;
}

/** Sends one message and waits for its first answer; a log stream is cancelled after it. */
export async function sendBus(nc: NatsConnection, cluster: string, c: BusCase, timeoutMs = 10_000): Promise<BusAnswer> {
  const inbox = createInbox();
  const sub = nc.subscribe(inbox, { max: 1 });
  try {
    nc.publish(subjectOf(cluster, c.target), dataOf(c.payload), { reply: inbox });
    const timer = new Promise<BusAnswer>((r) => setTimeout(() => r({ error: `no answer within ${timeoutMs} ms` }), timeoutMs).unref());
    const first = (async (): Promise<BusAnswer> => {
      for await (const m of sub) {
        if (m.data.length === 0 && m.headers?.code === 503) return { error: "no responders" };
        return { data: m.data };
      }
      return { error: "subscription closed" };
    })();
    return await Promise.race([first, timer]);
  } catch (e) {
    return { error: `cannot send: ${(e as Error).message}` };
  } finally {
    sub.unsubscribe();
    if (c.target.type === "node") nc.publish(logCancelSubject(inbox));
  }
}

const BAD_CODES: readonly string[] = [ErrorCode.Internal, ErrorCode.Unavailable, ErrorCode.Timeout];

/** Why this answer is wrong, or undefined when it is acceptable. */
export function judgeBus(c: BusCase, a: BusAnswer): string | undefined {
  if (a.error) return `no answer: ${a.error.replace(/\d+/g, "N")}`;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(a.data!).toString("utf8"));
  } catch {
    return "answer is not JSON";
  }
  const failed = (e: { code: string; message: string }) => (BAD_CODES.includes(e.code) ? `${e.code}: ${e.message.replace(/\d+/g, "N").slice(0, 120)}` : undefined);
  const t = c.target;
  if (t.type === "ping") {
    if (isReply(v)) return v.ok ? "a ping answered with ok:true instead of presence" : failed(v.error);
    const p = v as { kind?: unknown; id?: unknown };
    return typeof p.kind === "string" && typeof p.id === "string" ? undefined : "a ping answer that is neither presence nor an error";
  }
  if (t.type === "node" && t.verb === "logs") {
    try {
      const f = decodeLogFrame(v);
      if (f.type === "error") return f.ok === false ? failed(f.error) : "an error frame without ok:false";
      return undefined;
    } catch (e) {
      return `answer is not a log frame: ${(e as Error).message}`;
    }
  }
  if (!isReply(v)) return "answer is not a reply envelope";
  return v.ok ? undefined : failed(v.error);
}

export function describeBus(cluster: string, c: BusCase): string {
  const d = dataOf(c.payload);
  const shown = d.length > 300 ? `${Buffer.from(d.subarray(0, 300)).toString()}… (${d.length} bytes)` : Buffer.from(d).toString();
  return `${subjectOf(cluster, c.target)} ← ${shown}`;
}
