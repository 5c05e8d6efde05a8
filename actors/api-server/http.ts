/**
 * Small HTTP helpers: bodies read under the size limit and parsed by Content-Type, JSON written
 * byte for byte as kube-apiserver writes it, and Status answers.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ErrorContext, KubeStatus } from "./status.ts";
import { parse as parseYaml } from "yaml";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { PatchType } from "../../bus/store-protocol.ts";
import { statusFromError, encodeJson } from "./status.ts";
import { decodeKubeProtobuf } from "./protobuf.ts";
import { isPrettyPrint } from "./query.ts";
import { MAX_BODY_BYTES } from "./limits.ts";

/** How deep a request body may nest; deeper bodies are refused before anything walks them. */
export const MAX_BODY_DEPTH = 1000;

export const MediaType = {
  json: "application/json",
  yaml: "application/yaml",
  protobuf: "application/vnd.kubernetes.protobuf",
  mergePatch: "application/merge-patch+json",
  jsonPatch: "application/json-patch+json",
  strategicPatch: "application/strategic-merge-patch+json",
  applyPatch: "application/apply-patch+yaml",
} as const;

export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

const tooLarge = (limit: number) => new FlotillaError(ErrorCode.RequestEntityTooLarge, `limit is ${limit}`);

/**
 * The whole body, refused with 413 as soon as it passes `limit` (or at once when Content-Length
 * says it will), and with 400 when the client stops before the end: never buffered past the limit.
 */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declaredHeader = req.headers["content-length"];
    const declared = declaredHeader === undefined ? undefined : Number(declaredHeader);
    if (declared !== undefined && declared > limit) return reject(tooLarge(limit));
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      req.off("data", onData).off("end", onEnd).off("error", onCut).off("close", onCut);
      f();
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) return settle(() => reject(tooLarge(limit)));
      chunks.push(c);
    };
    const onEnd = () => settle(() => resolve(Buffer.concat(chunks)));
    const onCut = () => {
      const of = declared !== undefined ? ` of the ${declared} announced` : "";
      settle(() => reject(new FlotillaError(ErrorCode.BadRequest, `the request body was cut short: the client stopped after ${size} bytes${of}`)));
    };
    if (req.readableEnded) return onEnd();
    req.on("data", onData).on("end", onEnd).on("error", onCut).on("close", onCut);
  });
}

/** Refuses a parsed body that nests deeper than MAX_BODY_DEPTH (walked without recursion). */
function checkDepth(v: unknown): void {
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== "object") continue;
    if (d > MAX_BODY_DEPTH) throw new FlotillaError(ErrorCode.BadRequest, `the request body nests deeper than ${MAX_BODY_DEPTH} levels`);
    for (const c of Object.values(x as object)) if (c !== null && typeof c === "object") stack.push([c, d + 1]);
  }
}

/** Parses a request body by its media type. Malformed JSON/YAML/protobuf is a 400; unknown types a 415. */
export function parseBody(buf: Buffer, contentType: string | undefined): unknown {
  if (buf.length === 0) return undefined;
  const body = decodeBody(buf, mediaTypeOf(contentType));
  checkDepth(body);
  return body;
}

function decodeBody(buf: Buffer, mt: string): unknown {
  if (mt === MediaType.protobuf) {
    const { apiVersion, kind, object } = decodeKubeProtobuf(new Uint8Array(buf));
    return { apiVersion, kind, ...object };
  }
  const text = buf.toString("utf8");
  if (mt === MediaType.yaml || mt === MediaType.applyPatch) {
    try {
      return parseYaml(text);
    } catch (e) {
      throw new FlotillaError(ErrorCode.BadRequest, `error converting YAML to JSON: ${(e as Error).message}`);
    }
  }
  if (mt === "" || mt === MediaType.json || mt.endsWith("+json")) {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new FlotillaError(ErrorCode.BadRequest, `couldn't get version/kind; json parse error: ${(e as Error).message}`);
    }
  }
  throw new FlotillaError(ErrorCode.UnsupportedMediaType, `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`);
}

/** PATCH Content-Type → the store's patch type. */
export function patchTypeOf(contentType: string | undefined): PatchType {
  switch (mediaTypeOf(contentType)) {
    case MediaType.mergePatch:
      return PatchType.merge;
    case MediaType.jsonPatch:
      return PatchType.json;
    case MediaType.strategicPatch:
      return PatchType.strategic;
    case MediaType.applyPatch:
      return PatchType.apply;
    default:
      throw new FlotillaError(
        ErrorCode.UnsupportedMediaType,
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
      );
  }
}

/** `Accept: application/json;as=Table;g=meta.k8s.io;v=v1` */
export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? "")
    .split(",")
    .some((part) => /;\s*as=Table/.test(part) && /;\s*g=meta\.k8s\.io/.test(part));
}

/** The request a response answers (Node sets `res.req`). */
const requestOf = (res: ServerResponse): IncomingMessage | undefined => (res as ServerResponse & { req?: IncomingMessage }).req;

/** Pretty output when kube-apiserver would give it: `?pretty=true`, or curl / Wget / a browser. */
function prettyFor(res: ServerResponse): boolean {
  const req = requestOf(res);
  if (!req) return false;
  const url = req.url ?? "";
  const i = url.indexOf("?");
  return isPrettyPrint(i < 0 ? "" : url.slice(i + 1), req.headers["user-agent"]);
}

export function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const data = encodeJson(body, prettyFor(res));
  res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data), ...headers });
  res.end(data);
}

/**
 * A Status answer. `Retry-After` comes from `details.retryAfterSeconds` (as kube-apiserver's
 * ErrorNegotiated does); when the request body was not read to its end the connection is closed
 * after the answer, so a client cannot keep a socket by never finishing its upload.
 */
export function sendStatus(res: ServerResponse, status: KubeStatus): void {
  const headers: Record<string, string> = {};
  const retry = status.details?.retryAfterSeconds;
  if (retry) headers["Retry-After"] = String(retry);
  const req = requestOf(res);
  if (req && !req.complete) headers.Connection = "close";
  sendJson(res, status.code, status, headers);
}

export function sendError(res: ServerResponse, e: unknown, ctx: ErrorContext = {}): number {
  const { code, body } = statusFromError(e, ctx);
  sendStatus(res, body);
  return code;
}
