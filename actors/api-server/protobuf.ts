/**
 * Decodes `application/vnd.kubernetes.protobuf` request bodies (kubectl 1.32's `create <kind>`,
 * drain's DELETE fallback) into the JSON shape the same object has in `application/json`.
 * Envelope: magic `k8s\0`, then `runtime.Unknown { typeMeta, raw, contentEncoding, contentType }`;
 * `raw` is the object, decoded with the schema of protobuf-schema.ts. Fields left at their Go zero
 * value are omitted (as kubectl's JSON omits them), so defaulting sees them as unset.
 *
 * @example const { kind, object } = decodeKubeProtobuf(body); // kind "Namespace", object.metadata.name "x"
 */
import protobuf from "protobufjs";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { KUBE_PROTO, PROTOBUF_KINDS } from "./protobuf-schema.ts";

export const PROTOBUF_MAGIC = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);

/** The parsed schema (parsed once, at load). Exported so specs can build envelopes with it. */
export const kubeProto: protobuf.Root = protobuf.parse(KUBE_PROTO, { keepCase: true }).root;
kubeProto.resolveAll();
const Unknown = kubeProto.lookupType("k8s.Unknown");

type Json = Record<string, unknown>;
const bad = (msg: string) => new FlotillaError(ErrorCode.BadRequest, msg);

export function decodeKubeProtobuf(body: Uint8Array): { apiVersion: string; kind: string; object: Json } {
  if (body.length < 4 || !PROTOBUF_MAGIC.every((b, i) => body[i] === b)) {
    throw bad("the protobuf body does not start with the Kubernetes magic number");
  }
  const envelope = decodeMessage(Unknown, body.subarray(4));
  const typeMeta = (envelope.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const apiVersion = typeMeta.apiVersion ?? "";
  const kind = typeMeta.kind ?? "";
  const encoding = envelope.contentEncoding;
  if (typeof encoding === "string" && encoding !== "") {
    throw new FlotillaError(ErrorCode.UnsupportedMediaType, `the protobuf body uses content encoding "${encoding}"; send it unencoded or as JSON`);
  }
  // autoscaling/v1 is the only HorizontalPodAutoscaler shape described (kubectl autoscale sends it).
  if (!(PROTOBUF_KINDS as readonly string[]).includes(kind) || (kind === "HorizontalPodAutoscaler" && apiVersion !== "autoscaling/v1")) {
    throw new FlotillaError(ErrorCode.UnsupportedMediaType, `a protobuf body of kind ${kind || "(none)"} is not supported; send JSON`);
  }
  const type = kubeProto.lookupType(`k8s.${kind}`);
  const raw = envelope.raw instanceof Uint8Array ? envelope.raw : new Uint8Array();
  return { apiVersion, kind, object: toJson(type, decodeMessage(type, raw)) };
}

function decodeMessage(type: protobuf.Type, bytes: Uint8Array): Json {
  try {
    return type.decode(bytes) as unknown as Json;
  } catch (e) {
    throw bad(`the protobuf body could not be decoded as ${type.name}: ${(e as Error).message}`);
  }
}

/** int64 fields decode as Long objects (or numbers). */
const toNumber = (v: unknown): number => (typeof v === "object" && v !== null ? protobuf.util.LongBits.from(v as protobuf.Long).toNumber() : Number(v));
const base64 = (v: unknown): string => Buffer.from(v as Uint8Array).toString("base64");
const isZero = (v: unknown) =>
  v === undefined || v === "" || v === 0 || v === false || (typeof v === "object" && v !== null && Object.keys(v).length === 0);

/** RFC 3339 in UTC, with `fractionDigits` of sub-second precision (0 for metav1.Time). */
function timeString(m: Json, fractionDigits: number): string | undefined {
  const seconds = toNumber(m.seconds ?? 0);
  const nanos = toNumber(m.nanos ?? 0);
  if (seconds === 0 && nanos === 0) return undefined;
  const iso = new Date(seconds * 1000).toISOString().slice(0, 19);
  const fraction = fractionDigits ? "." + String(nanos).padStart(9, "0").slice(0, fractionDigits) : "";
  return `${iso}${fraction}Z`;
}

/** The JSON form of the well-known value types, or `undefined` for their zero value. */
const special: Record<string, (m: Json) => unknown> = {
  Time: (m) => timeString(m, 0),
  MicroTime: (m) => timeString(m, 6),
  Quantity: (m) => m.string,
  IntOrString: (m) => (toNumber(m.type ?? 0) === 1 ? (m.strVal ?? "") : toNumber(m.intVal ?? 0)),
  FieldsV1: (m) => (m.Raw instanceof Uint8Array && m.Raw.length ? JSON.parse(Buffer.from(m.Raw).toString("utf8")) : undefined),
};

function value(field: protobuf.Field, v: unknown): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) {
    const convert = special[rt.name];
    return convert ? convert(v as Json) : toJson(rt, v as Json);
  }
  if (field.type === "bytes") return base64(v);
  if (field.type === "int64" || field.type === "uint64" || field.type === "sint64" || field.type === "fixed64") return toNumber(v);
  return v;
}

/** A decoded message as Kubernetes JSON: maps as objects, bytes as base64, Go zero values omitted. */
function toJson(type: protobuf.Type, msg: Json): Json {
  const out: Json = {};
  for (const field of type.fieldsArray) {
    const v = msg[field.name];
    if (v === undefined || v === null || !Object.hasOwn(msg, field.name)) continue;
    let converted: unknown;
    if (field.map) {
      converted = Object.fromEntries(Object.entries(v as Json).map(([k, x]) => [k, value(field, x)]));
    } else if (field.repeated) {
      converted = (v as unknown[]).map((x) => value(field, x));
      if ((converted as unknown[]).length === 0) continue;
    } else {
      converted = value(field, v);
    }
    const keep = field.options?.["(ptr)"] === true && converted !== undefined;
    if (!keep && isZero(converted)) continue;
    if (field.options?.["(inline)"] === true) Object.assign(out, converted);
    else out[field.name] = converted;
  }
  return out;
}
