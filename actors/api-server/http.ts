/** Small HTTP helpers: body limits and parsing by Content-Type, JSON and Status answers. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ErrorContext } from "./status.ts";
import { parse as parseYaml } from "yaml";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { PatchType } from "../../bus/store-protocol.ts";
import { statusFromError } from "./status.ts";
import { decodeKubeProtobuf } from "./protobuf.ts";

/** kube-apiserver's request body limit. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

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

export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > limit) {
      req.resume();
      return reject(new FlotillaError(ErrorCode.RequestEntityTooLarge, "the server has received a request that is too large"));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.resume();
        reject(new FlotillaError(ErrorCode.RequestEntityTooLarge, "the server has received a request that is too large"));
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Parses a request body by its media type. Malformed JSON/YAML is a 400; unknown types a 415. */
export function parseBody(buf: Buffer, contentType: string | undefined): unknown {
  if (buf.length === 0) return undefined;
  const mt = mediaTypeOf(contentType);
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

export function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const data = JSON.stringify(body);
  res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data), ...headers });
  res.end(data);
}

export function sendError(res: ServerResponse, e: unknown, ctx: ErrorContext = {}): number {
  const { code, body, headers } = statusFromError(e, ctx);
  sendJson(res, code, body, headers);
  return code;
}
