/**
 * The HTTP side of the fuzzer: generated requests (paths, query strings, headers, bodies, tokens)
 * for every resource and verb and the other endpoints, a sender, and the oracle: every answer is
 * a Kubernetes `Status` with a 4xx code, or a 2xx whose body parses as what was asked for.
 */
import fc from "fast-check";
import { Agent, request as httpsRequest } from "node:https";
import type { ResourceType } from "../../bus/kinds.ts";
import type { Json, Mutation } from "./objects.ts";
import { apiVersionOf } from "../../bus/kinds.ts";
import { validObject, mutate, mutationArb, tame, nested, resourceArb, nameArb, namespaceArb } from "./objects.ts";

export type Token = "admin" | "view" | "none" | "bogus";

export type Body =
  | { type: "object"; rt: ResourceType; name: string; mutations: Mutation[] }
  | { type: "json"; value: Json }
  | { type: "text"; text: string }
  | { type: "nested"; depth: number; kind: "array" | "object" }
  | { type: "huge"; bytes: number };

export interface HttpCase {
  method: string;
  /** Path segments, each sent percent-encoded unless `raw`. */
  segments: string[];
  raw: boolean;
  /** The query string, sent as is. */
  query: string;
  contentType?: string;
  accept?: string;
  token: Token;
  body?: Body;
  /** What the path names, for the oracle. */
  intent: { rt?: ResourceType; name?: string; subresource?: string; watch: boolean };
}

const METHODS = ["GET", "GET", "GET", "POST", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "BREW"];
const CONTENT_TYPES = [
  "application/json",
  "application/json",
  "application/yaml",
  "application/merge-patch+json",
  "application/json-patch+json",
  "application/strategic-merge-patch+json",
  "application/apply-patch+yaml",
  "application/vnd.kubernetes.protobuf",
  "text/plain",
  "application/x-www-form-urlencoded",
  "garbage/;;;",
  "",
];
const ACCEPTS = ["application/json", "application/json;as=Table;g=meta.k8s.io;v=v1", "application/vnd.kubernetes.protobuf", "application/yaml", "*/*", "text/html", "x/y;as=Table"];
const QUERY_KEYS = [
  "labelSelector",
  "fieldSelector",
  "limit",
  "continue",
  "watch",
  "resourceVersion",
  "timeoutSeconds",
  "dryRun",
  "fieldManager",
  "fieldValidation",
  "propagationPolicy",
  "gracePeriodSeconds",
  "force",
  "container",
  "follow",
  "tailLines",
  "sinceSeconds",
  "limitBytes",
  "previous",
  "timestamps",
  "includeObject",
  "pretty",
  "allowWatchBookmarks",
];
const QUERY_VALUES = ["", "true", "false", "1", "0", "-1", "All", "Strict", "Warn", "Ignore", "Orphan", "Foreground", "x", "app=fz", "app!=fz", "app in (fz)", "metadata.name=fz-a", "spec.nodeName=node-1", "a==b=c", "((", "99999999999999999999", "1e3", "%", "%zz", "%E0%A4%A", "%C3%BC", "ü", "Object", "None", "c"];

const encodeQueryPart = fc.oneof(
  { arbitrary: fc.constantFrom(...QUERY_VALUES), weight: 6 },
  { arbitrary: fc.string({ maxLength: 8 }).map((s) => encodeURIComponent(s)), weight: 1 },
);
const queryArb: fc.Arbitrary<string> = fc
  .array(fc.tuple(fc.oneof({ arbitrary: fc.constantFrom(...QUERY_KEYS), weight: 8 }, { arbitrary: fc.constantFrom("%", "a%zz", "", "__proto__", "constructor"), weight: 1 }), encodeQueryPart), { maxLength: 4 })
  .map((kv) => kv.map(([k, v]) => `${k}=${v}`).join("&"));

const tokenArb: fc.Arbitrary<Token> = fc.oneof({ arbitrary: fc.constant<Token>("admin"), weight: 14 }, { arbitrary: fc.constantFrom<Token>("view", "none", "bogus"), weight: 3 });

function bodyArb(rt: ResourceType, name: string): fc.Arbitrary<Body> {
  return fc.oneof(
    { arbitrary: fc.constant<Body>({ type: "object", rt, name, mutations: [] }), weight: 6 },
    { arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 3 }).map((mutations): Body => ({ type: "object", rt, name, mutations })), weight: 6 },
    { arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value): Body => ({ type: "json", value: value as Json })), weight: 2 },
    { arbitrary: fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom("{", "[1,", "null", "---\n- a: [", "\u0000\u0001", "k8s\u0000\u0001\u0002", '{"__proto__":{"polluted":"yes"}}', '{"constructor":{"prototype":{"polluted":"yes"}}}')).map((text): Body => ({ type: "text", text })), weight: 2 },
    { arbitrary: fc.record({ depth: fc.constantFrom(50, 150, 5000), kind: fc.constantFrom<"array" | "object">("array", "object") }).map((n): Body => ({ type: "nested", ...n })), weight: 1 },
  );
}

/**
 * Whether a query asks for a watch, read as kube-apiserver reads query booleans
 * (apimachinery's Convert_Slice_string_To_bool: the first value; only "0" and "false", any case,
 * are false — every other value, even an empty or malformed one, is true).
 */
function isWatchQuery(query: string): boolean {
  const first = query.split("&").find((p) => p === "watch" || p.startsWith("watch="));
  if (first === undefined) return false;
  let v = first.slice("watch=".length);
  try {
    v = decodeURIComponent(v.replace(/\+/g, " "));
  } catch {
    return false; // a malformed escape is a 400, never a watch
  }
  return v !== "0" && v.toLowerCase() !== "false";
}

/** A resource request: `/api/v1[/namespaces/<ns>][/watch]/<resource>[/<name>[/<subresource>]]`. */
const resourceCaseArb: fc.Arbitrary<HttpCase> = fc
  .record({ rt: resourceArb, ns: fc.option(namespaceArb, { freq: 4 }), name: fc.option(nameArb, { freq: 3 }), sub: fc.option(fc.oneof({ arbitrary: fc.constantFrom("status", "scale", "log", "binding", "eviction"), weight: 5 }, { arbitrary: fc.constantFrom("exec", "proxy", ""), weight: 1 }), { freq: 3 }), watchPath: fc.boolean() })
  .chain(({ rt, ns, name, sub, watchPath }) => {
    const namespace = rt.namespaced ? (ns ?? "fuzz") : ns;
    return fc.record({
      method: fc.constantFrom(...METHODS),
      query: queryArb,
      contentType: fc.option(fc.constantFrom(...CONTENT_TYPES), { freq: 6, nil: undefined }),
      accept: fc.option(fc.constantFrom(...ACCEPTS), { freq: 2, nil: undefined }),
      token: tokenArb,
      body: fc.option(bodyArb(rt, name ?? "fz-a"), { freq: 4, nil: undefined }),
      raw: fc.boolean(),
      watchPath: fc.constant(watchPath),
    }).map((r): HttpCase => {
      const prefix = rt.group ? ["apis", rt.group, rt.version] : ["api", "v1"];
      const segments = [...prefix, ...(r.watchPath && r.method === "GET" ? ["watch"] : []), ...(namespace !== null && namespace !== undefined && namespace !== "" ? ["namespaces", namespace] : []), rt.resource];
      if (name !== null) segments.push(name);
      if (name !== null && sub !== null) segments.push(sub);
      // Never delete the namespaces the cluster itself lives in: that tests the fuzzer's patience, not the server.
      const protectedNs = rt.resource === "namespaces" && r.method === "DELETE" && (name === null || ["default", "kube-system", "kube-public", "kube-node-lease"].includes(name));
      return {
        method: protectedNs ? "GET" : r.method,
        segments,
        raw: r.raw,
        query: r.query,
        contentType: r.contentType,
        accept: r.accept,
        token: r.token,
        body: r.body,
        intent: { rt, name: name ?? undefined, subresource: name !== null ? (sub ?? undefined) : undefined, watch: r.watchPath || isWatchQuery(r.query) },
      };
    });
  });

const OTHER_PATHS = ["/", "/api", "/apis", "/apis/apps", "/apis/apps/v1", "/apis/coordination.k8s.io/v1", "/apis/nope/v1", "/version", "/healthz", "/livez", "/readyz", "/openapi/v3", "/openapi/v3/api/v1", "/openapi/v3/apis/apps/v1", "/openapi/v2", "/flotilla/v1/actors", "/flotilla/v1/whoami", "/ui/", "/ui/missing.js", "/api/v2", "/metrics"];

const otherCaseArb: fc.Arbitrary<HttpCase> = fc
  .record({
    path: fc.oneof({ arbitrary: fc.constantFrom(...OTHER_PATHS), weight: 4 }, { arbitrary: fc.array(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom("%", "%zz", "..", "%2e%2e", "api", "v1", "pods", "ü", "%C0%AF")), { maxLength: 5 }).map((s) => "/" + s.join("/")), weight: 2 }),
    method: fc.constantFrom(...METHODS),
    query: queryArb,
    token: tokenArb,
    accept: fc.option(fc.constantFrom(...ACCEPTS), { freq: 2, nil: undefined }),
    body: fc.option(fc.oneof(fc.record({ type: fc.constant("text" as const), text: fc.string({ maxLength: 20 }) }), fc.record({ type: fc.constant("huge" as const), bytes: fc.constant(4 * 1024 * 1024) })), { freq: 8, nil: undefined }),
  })
  .map((r): HttpCase => ({ method: r.method, segments: r.path.split("/").filter((s) => s !== ""), raw: true, query: r.query, accept: r.accept, token: r.token, body: r.body as Body | undefined, intent: { watch: false } }));

export const httpCaseArb: fc.Arbitrary<HttpCase> = fc.oneof({ arbitrary: resourceCaseArb, weight: 9 }, { arbitrary: otherCaseArb, weight: 1 });

/** Characters Node's client refuses in a path go percent-encoded; everything else as generated. */
const pathSafe = (s: string) => [...s].map((c) => (/^[\u0021-\u007e]$/.test(c) && c !== "?" && c !== "#" ? c : encodeURIComponent(c))).join("");

export function pathOf(c: HttpCase): string {
  const segs = c.segments.map((s) => (c.raw ? pathSafe(s) : encodeURIComponent(s)));
  return "/" + segs.join("/") + (c.query ? `?${pathSafe(c.query)}` : "");
}

export function bodyOf(c: HttpCase): Buffer | undefined {
  const b = c.body;
  if (!b || c.method === "GET" || c.method === "HEAD") return undefined;
  switch (b.type) {
    case "object": {
      const ns = c.intent.rt?.namespaced ? (c.segments[c.segments.indexOf("namespaces") + 1] ?? "fuzz") : undefined;
      return Buffer.from(JSON.stringify(tame(mutate(validObject(b.rt, b.name, ns), b.mutations))));
    }
    case "json":
      return Buffer.from(JSON.stringify(tame(b.value)));
    case "text":
      return Buffer.from(b.text);
    case "nested":
      return Buffer.from(nested(b.depth, b.kind));
    case "huge":
      return Buffer.alloc(b.bytes, 0x20);
  }
}

export interface HttpAnswer {
  status: number;
  contentType: string;
  body: Buffer;
  error?: string;
}

export interface HttpTarget {
  url: string;
  ca: string;
  tokens: { admin: string; view: string };
  agent: Agent;
}

export function httpTarget(url: string, ca: string, tokens: { admin: string; view: string }): HttpTarget {
  return { url, ca, tokens, agent: new Agent({ keepAlive: true, maxSockets: 16, ca }) };
}

/** Sends one case; a watch is read for a moment and then closed (its stream never ends by itself). */
export function send(t: HttpTarget, c: HttpCase, timeoutMs = 15_000): Promise<HttpAnswer> {
  return new Promise((resolve) => {
    const body = bodyOf(c);
    const headers: Record<string, string | number> = {};
    if (c.token === "admin") headers.Authorization = `Bearer ${t.tokens.admin}`;
    if (c.token === "view") headers.Authorization = `Bearer ${t.tokens.view}`;
    if (c.token === "bogus") headers.Authorization = "Bearer not-a-token";
    if (c.contentType !== undefined) headers["Content-Type"] = c.contentType;
    if (c.accept !== undefined) headers.Accept = c.accept;
    if (body) headers["Content-Length"] = body.length;
    let settled = false;
    const done = (a: HttpAnswer) => {
      if (settled) return;
      settled = true;
      resolve(a);
    };
    let req: ReturnType<typeof httpsRequest>;
    try {
      // The path goes as it is: a URL string would have its `.`/`..` segments resolved by the client.
      const base = new URL(t.url);
      req = httpsRequest({ host: base.hostname, port: base.port, path: pathOf(c), method: c.method, headers, agent: t.agent, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        const answer = () => ({ status: res.statusCode ?? 0, contentType: String(res.headers["content-type"] ?? ""), body: Buffer.concat(chunks) });
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () => done(answer()));
        res.on("error", () => done(answer()));
        res.on("aborted", () => done(answer()));
        if ((res.statusCode ?? 0) < 300 && (c.intent.watch || c.intent.subresource === "log")) {
          setTimeout(() => {
            done(answer());
            res.destroy();
          }, 150);
        }
      });
    } catch (e) {
      return done({ status: 0, contentType: "", body: Buffer.alloc(0), error: `client refused the request: ${(e as Error).message}` });
    }
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (e) => done({ status: 0, contentType: "", body: Buffer.alloc(0), error: e.message }));
    req.end(body);
  });
}

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === "object" && v !== null && !Array.isArray(v);

function parseJson(a: HttpAnswer): unknown {
  try {
    return JSON.parse(a.body.toString("utf8"));
  } catch {
    return undefined;
  }
}

/** The kinds a 2xx answer may carry for this request. */
function expectedKinds(c: HttpCase): string[] | undefined {
  const { rt, name, subresource } = c.intent;
  if (!rt) return undefined;
  if (subresource === "scale") return ["Scale"];
  if (subresource === "binding" || subresource === "eviction") return ["Status"];
  if (name === undefined) return c.method === "GET" ? [`${rt.kind}List`, "Table"] : c.method === "DELETE" ? [`${rt.kind}List`, "Status"] : [rt.kind];
  return c.method === "GET" ? [rt.kind, "Table"] : c.method === "DELETE" ? [rt.kind, "Status"] : [rt.kind];
}

/** Why this answer is wrong, or undefined when it is acceptable. */
export function judge(c: HttpCase, a: HttpAnswer): string | undefined {
  if (a.error) return `no answer: ${a.error.replace(/\d+/g, "N")}`;
  if (a.status >= 500) {
    const s = parseJson(a);
    return `${a.status}: ${isRec(s) ? String(s.message).replace(/\d+/g, "N").slice(0, 120) : a.body.toString().slice(0, 80)}`;
  }
  if (c.method === "HEAD") return undefined;
  if (a.status >= 400) {
    const s = parseJson(a);
    if (!isRec(s) || s.kind !== "Status" || s.apiVersion !== "v1" || s.status !== "Failure" || s.code !== a.status) return `${a.status} is not a Kubernetes Status`;
    return undefined;
  }
  if (a.status >= 300) return c.segments[0] === "ui" ? undefined : `unexpected redirect ${a.status}`;
  if (a.status < 200) return `unexpected status ${a.status}`;
  // A success.
  if (c.intent.watch || c.intent.subresource === "log") return undefined;
  const ct = a.contentType.split(";")[0]!.trim();
  if (ct === "application/vnd.kubernetes.protobuf") return a.body.subarray(0, 4).toString("latin1") === "k8s\u0000" ? undefined : "protobuf answer without the k8s magic";
  if (ct !== "application/json") return c.intent.rt ? `a ${c.intent.rt.resource} answer in ${ct || "no content type"}` : undefined;
  const v = parseJson(a);
  if (!isRec(v)) return "a 2xx JSON answer that does not parse as an object";
  const kinds = expectedKinds(c);
  if (!kinds) return undefined;
  if (typeof v.kind !== "string" || !kinds.includes(v.kind)) return `a ${c.method} answer of kind ${String(v.kind)}, expected ${kinds.join(" or ")}`;
  if (v.kind.endsWith("List") && !Array.isArray(v.items)) return `${v.kind} without items`;
  if (v.kind === c.intent.rt!.kind && (!isRec(v.metadata) || typeof v.metadata.name !== "string" || v.apiVersion !== apiVersionOf(c.intent.rt!))) return `${v.kind} without metadata.name or with the wrong apiVersion`;
  return undefined;
}

/** A short description for reports. */
export function describeCase(c: HttpCase): string {
  const body = bodyOf(c);
  const shown = body ? (body.length > 300 ? `${body.subarray(0, 300).toString()}… (${body.length} bytes)` : body.toString()) : "";
  return `${c.method} ${pathOf(c)} [token ${c.token}${c.contentType !== undefined ? `, Content-Type ${JSON.stringify(c.contentType)}` : ""}${c.accept !== undefined ? `, Accept ${JSON.stringify(c.accept)}` : ""}]${shown ? ` body ${shown}` : ""}`;
}
