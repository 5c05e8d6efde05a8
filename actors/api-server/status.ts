/**
 * The one place that maps an ErrorCode to an HTTP status and a Kubernetes `Status` object
 * (kube-api-surface.md §10). Everything the api-server answers with an error goes through here.
 *
 * @example
 *   const { code, body } = statusFromError(new FlotillaError("NotFound", "x"), { rt, name: "missing" });
 *   // code 404, body.message 'pods "missing" not found'
 */
import type { ResourceType } from "../../bus/kinds.ts";
import type { Cause, ErrorDetails } from "../../bus/errors.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";

/** `metav1.StatusCause`, in Kubernetes' field order. */
export interface KubeStatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** `metav1.StatusDetails`, in Kubernetes' field order. */
export interface KubeStatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: KubeStatusCause[];
  retryAfterSeconds?: number;
}

/**
 * `metav1.Status`. Build it with `kubeStatus()` so the keys come in Kubernetes' order (kind,
 * apiVersion, metadata, status, message, reason, details, code) and empty fields are left out the
 * way Go's `omitempty` leaves them out.
 */
export interface KubeStatus {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Success" | "Failure";
  message?: string;
  reason?: string;
  details?: KubeStatusDetails;
  code: number;
}

function orderedDetails(d: KubeStatusDetails): KubeStatusDetails {
  const out: KubeStatusDetails = {};
  if (d.name) out.name = d.name;
  if (d.group) out.group = d.group;
  if (d.kind) out.kind = d.kind;
  if (d.uid) out.uid = d.uid;
  if (d.causes?.length) {
    out.causes = d.causes.map((c) => {
      const o: KubeStatusCause = {};
      if (c.reason) o.reason = c.reason;
      if (c.message) o.message = c.message;
      if (c.field) o.field = c.field;
      return o;
    });
  }
  if (d.retryAfterSeconds) out.retryAfterSeconds = d.retryAfterSeconds;
  return out;
}

/** A `Status` with its keys in Kubernetes' order; `details` is kept (even `{}`) when given. */
export function kubeStatus(s: { code: number; status?: "Success" | "Failure"; message?: string; reason?: string; details?: KubeStatusDetails }): KubeStatus {
  const out = { kind: "Status", apiVersion: "v1", metadata: {}, status: s.status ?? "Failure" } as KubeStatus;
  if (s.message) out.message = s.message;
  if (s.reason) out.reason = s.reason;
  if (s.details) out.details = orderedDetails(s.details);
  out.code = s.code;
  return out;
}

/**
 * JSON exactly as Go's encoding/json writes it, which is what kube-apiserver sends: `<`, `>`, `&`,
 * U+2028 and U+2029 escaped; compact output ends in a newline (`json.Encoder.Encode`), pretty
 * output (`json.MarshalIndent`, two spaces) does not.
 */
export function encodeJson(value: unknown, pretty = false): string {
  const text = JSON.stringify(value, null, pretty ? 2 : undefined).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return pretty ? text : text + "\n";
}

/**
 * A Status for an HTTP status the parser or the dispatcher gives before any ErrorCode applies
 * (400, 414, 431, …): the reason NewGenericServerResponse would give, none for most 4xx.
 */
export function httpStatus(code: number, message: string): KubeStatus {
  return kubeStatus({ code, message, reason: code === 400 ? "BadRequest" : code >= 500 ? "InternalError" : undefined });
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
  [ErrorCode.Timeout]: { code: 504, reason: "Timeout" },
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
  // NewTimeoutError and NewRequestEntityTooLargeError prefix their message.
  if (code === ErrorCode.Timeout) return msg.startsWith("Timeout: ") ? msg : `Timeout: ${msg}`;
  if (code === ErrorCode.RequestEntityTooLarge) return msg.startsWith("Request entity too large: ") ? msg : `Request entity too large: ${msg}`;
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

/** The errors whose Kubernetes constructors name the object in `details` (NewNotFound, …). */
const NAMES_OBJECT: readonly ErrorCode[] = [ErrorCode.NotFound, ErrorCode.AlreadyExists, ErrorCode.Conflict, ErrorCode.Invalid, ErrorCode.Forbidden];

/**
 * Kubernetes puts the plural in `details.kind`, except for Invalid, which carries the Kind.
 * NewTimeoutError and NewTooManyRequests always carry details, `{}` when there is nothing in them;
 * NewInternalError carries the cause's message.
 */
function details(code: ErrorCode, given: ErrorDetails | undefined, ctx: ErrorContext, message: string): ErrorDetails | undefined {
  if (code === ErrorCode.Unauthorized) return undefined;
  const d: ErrorDetails = { ...(given ?? {}) };
  if (given?.name === undefined && NAMES_OBJECT.includes(code)) {
    if (ctx.rt) {
      d.kind ??= code === ErrorCode.Invalid ? ctx.rt.kind : ctx.rt.resource;
      if (ctx.rt.group) d.group ??= ctx.rt.group;
    }
    if (ctx.name !== undefined) d.name ??= ctx.name;
  }
  if (code === ErrorCode.Internal && !d.causes?.length) d.causes = [{ message } as Cause];
  if (Object.values(d).some((v) => v !== undefined && v !== "")) return d;
  return code === ErrorCode.Timeout || code === ErrorCode.TooManyRequests ? {} : undefined;
}

export function isErrorCode(x: unknown): x is ErrorCode {
  return typeof x === "string" && Object.prototype.hasOwnProperty.call(HTTP_OF, x);
}

/** Any thrown value → HTTP status + Status body. Unknown errors are 500 InternalError. */
export function statusFromError(e: unknown, ctx: ErrorContext = {}): { code: number; body: KubeStatus } {
  const fe =
    e instanceof FlotillaError && isErrorCode(e.code)
      ? e
      : new FlotillaError(ErrorCode.Internal, e instanceof Error ? e.message : String(e));
  const { code, reason } = HTTP_OF[fe.code];
  // A store error that names its object already carries Kubernetes' message; else build it.
  const message =
    fe.code === ErrorCode.Unauthorized
      ? "Unauthorized"
      : fe.details?.name !== undefined
        ? fe.code === ErrorCode.Internal
          ? internal(fe.message)
          : fe.message
        : defaultMessage(fe.code, fe.message, ctx);
  const body = kubeStatus({ code, message, reason, details: details(fe.code, fe.details, ctx, fe.message) });
  return { code, body };
}

/** `{"status":"Success"}` for eviction, binding and the like. */
export function successStatus(code = 201, details?: KubeStatusDetails): KubeStatus {
  return kubeStatus({ code, status: "Success", details });
}

/** The watch ERROR event's object for a too-old resourceVersion (then the stream closes). */
export function expiredStatus(message: string): KubeStatus {
  return statusFromError(new FlotillaError(ErrorCode.Expired, message)).body;
}
