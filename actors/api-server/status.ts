/**
 * The one place that maps an ErrorCode to an HTTP status and a Kubernetes `Status` object
 * (kube-api-surface.md §10). Everything the api-server answers with an error goes through here.
 *
 * @example
 *   const { code, body } = statusFromError(new FlotillaError("NotFound", "x"), { rt, name: "missing" });
 *   // code 404, body.message 'pods "missing" not found'
 */
import type { ResourceType } from "../../bus/kinds.ts";
import type { ErrorDetails } from "../../bus/errors.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";

export interface KubeStatus {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Success" | "Failure";
  message?: string;
  reason?: string;
  details?: ErrorDetails & { uid?: string };
  code: number;
}

/** HTTP status and Kubernetes `reason` per wire error code. */
export const HTTP_OF: Record<ErrorCode, { code: number; reason: string }> = {
  [ErrorCode.NotFound]: { code: 404, reason: "NotFound" },
  [ErrorCode.AlreadyExists]: { code: 409, reason: "AlreadyExists" },
  [ErrorCode.Conflict]: { code: 409, reason: "Conflict" },
  [ErrorCode.Invalid]: { code: 422, reason: "Invalid" },
  [ErrorCode.BadRequest]: { code: 400, reason: "BadRequest" },
  [ErrorCode.Forbidden]: { code: 403, reason: "Forbidden" },
  [ErrorCode.Unauthorized]: { code: 401, reason: "Unauthorized" },
  [ErrorCode.Unavailable]: { code: 503, reason: "ServiceUnavailable" },
  [ErrorCode.Timeout]: { code: 503, reason: "Timeout" },
  [ErrorCode.Expired]: { code: 410, reason: "Expired" },
  [ErrorCode.TooManyRequests]: { code: 429, reason: "TooManyRequests" },
  [ErrorCode.UnsupportedMediaType]: { code: 415, reason: "UnsupportedMediaType" },
  [ErrorCode.RequestEntityTooLarge]: { code: 413, reason: "RequestEntityTooLarge" },
  [ErrorCode.MethodNotAllowed]: { code: 405, reason: "MethodNotAllowed" },
  [ErrorCode.Internal]: { code: 500, reason: "InternalError" },
};

/** What the request was about, to fill in `details` and qualify names the way Kubernetes does. */
export interface ErrorContext {
  rt?: ResourceType;
  name?: string;
}

/** `deployments.apps` for a non-core group, `pods` for core. */
export function qualifiedResource(rt: ResourceType): string {
  return rt.group ? `${rt.resource}.${rt.group}` : rt.resource;
}
export function qualifiedKind(rt: ResourceType): string {
  return rt.group ? `${rt.kind}.${rt.group}` : rt.kind;
}

function defaultMessage(code: ErrorCode, msg: string, ctx: ErrorContext): string {
  const { rt, name } = ctx;
  if (!rt || name === undefined) return code === ErrorCode.Internal ? internal(msg) : msg;
  const q = `${qualifiedResource(rt)} "${name}"`;
  switch (code) {
    case ErrorCode.NotFound:
      return `${q} not found`;
    case ErrorCode.AlreadyExists:
      return `${q} already exists`;
    case ErrorCode.Conflict:
      return /Operation cannot be fulfilled/.test(msg)
        ? msg
        : `Operation cannot be fulfilled on ${q}: the object has been modified; please apply your changes to the latest version and try again`;
    case ErrorCode.Invalid:
      return / is invalid/.test(msg) ? msg : `${qualifiedKind(rt)} "${name}" is invalid: ${msg}`;
    case ErrorCode.Internal:
      return internal(msg);
    default:
      return msg;
  }
}
const internal = (msg: string) => (msg.startsWith("Internal error occurred") ? msg : `Internal error occurred: ${msg}`);

/** Kubernetes puts the plural in `details.kind`, except for Invalid, which carries the Kind. */
function details(code: ErrorCode, given: ErrorDetails | undefined, ctx: ErrorContext): ErrorDetails | undefined {
  if (code === ErrorCode.Unauthorized) return undefined;
  const d: ErrorDetails = { ...(given ?? {}) };
  if (given?.name !== undefined) return d;
  if (ctx.rt) {
    d.kind ??= code === ErrorCode.Invalid ? ctx.rt.kind : ctx.rt.resource;
    if (ctx.rt.group) d.group ??= ctx.rt.group;
  }
  if (ctx.name !== undefined) d.name ??= ctx.name;
  return Object.keys(d).length ? d : undefined;
}

export function isErrorCode(x: unknown): x is ErrorCode {
  return typeof x === "string" && Object.prototype.hasOwnProperty.call(HTTP_OF, x);
}

/** Any thrown value → HTTP status + Status body. Unknown errors are 500 InternalError. */
export function statusFromError(e: unknown, ctx: ErrorContext = {}): { code: number; body: KubeStatus; headers: Record<string, string> } {
  const fe =
    e instanceof FlotillaError && isErrorCode(e.code)
      ? e
      : new FlotillaError(ErrorCode.Internal, e instanceof Error ? e.message : String(e));
  const { code, reason } = HTTP_OF[fe.code];
  const body: KubeStatus = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    // A store error that names its object already carries Kubernetes' message; else build it.
    message: fe.details?.name !== undefined ? (fe.code === ErrorCode.Internal ? internal(fe.message) : fe.message) : defaultMessage(fe.code, fe.message, ctx),
    reason,
    code,
  };
  const d = details(fe.code, fe.details, ctx);
  if (d) body.details = d;
  if (fe.code === ErrorCode.Unauthorized) body.message = "Unauthorized";
  const retry = fe.details?.retryAfterSeconds;
  return { code, body, headers: retry !== undefined ? { "Retry-After": String(retry) } : {} };
}

/** `{"status":"Success"}` for eviction, binding and the like. */
export function successStatus(code = 201, details?: KubeStatus["details"]): KubeStatus {
  const s: KubeStatus = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code };
  if (details) s.details = details;
  return s;
}

/** The watch ERROR event's object for a too-old resourceVersion (then the stream closes). */
export function expiredStatus(message: string): KubeStatus {
  return statusFromError(new FlotillaError(ErrorCode.Expired, message)).body;
}
