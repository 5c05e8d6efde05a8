/** Data and bookkeeping kinds: ConfigMap, Secret (stringData → data), Event (defaults) and Lease. */
import type { Cause } from "../../../bus/errors.ts";
import type { KubeObject } from "../../../bus/resources.ts";
import type { Admitter } from "./types.ts";
import { type Path, path, invalid, required, notSupported, forbidden, tooLong, wrongType, deepEqual, isRec, isInt, rec, str } from "./field.ts";
import { nameIsDNSSubdomain, isConfigMapKey, isTimestamp } from "./names.ts";
import { rfc3339 as stamp } from "../../../bus/time.ts";

/** ConfigMaps and Secrets hold at most 1 MiB of data. */
export const MAX_DATA_SIZE = 1024 * 1024;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function validateDataMap(data: unknown, p: Path, opts: { base64: boolean; other?: { map: unknown; name: string } }): { errs: Cause[]; size: number } {
  const errs = wrongType(p, data, "object");
  let size = 0;
  for (const [key, value] of Object.entries(rec(data))) {
    const kp = p.key(key);
    for (const m of isConfigMapKey(key)) errs.push(invalid(kp, key, m));
    if (opts.other && key in rec(opts.other.map)) errs.push(invalid(kp, key, `duplicate of key present in ${opts.other.name}`));
    if (typeof value !== "string") errs.push(invalid(kp, "<value omitted>", "must be a string"));
    else if (opts.base64 && !BASE64.test(value)) errs.push(invalid(kp, "<value omitted>", "illegal base64 data"));
    else size += opts.base64 ? Buffer.from(value, "base64").length : Buffer.byteLength(value);
  }
  return { errs, size };
}

/** `immutable: true` freezes the data and itself. */
function validateImmutableData(obj: KubeObject, old: KubeObject, fields: string[]): Cause[] {
  if (old.immutable !== true) return [];
  const errs: Cause[] = [];
  if (obj.immutable !== true) errs.push(forbidden(path("immutable"), "field is immutable when `immutable` is set"));
  for (const f of fields) if (!deepEqual(obj[f] ?? {}, old[f] ?? {})) errs.push(forbidden(path(f), "field is immutable when `immutable` is set"));
  return errs;
}

export const configMapAdmitter: Admitter = {
  nameFn: nameIsDNSSubdomain,
  validate(obj) {
    const data = validateDataMap(obj.data, path("data"), { base64: false, other: { map: obj.binaryData, name: "binaryData" } });
    const binary = validateDataMap(obj.binaryData, path("binaryData"), { base64: true, other: { map: obj.data, name: "data" } });
    const errs = [...data.errs, ...binary.errs, ...wrongType(path("immutable"), obj.immutable, "boolean")];
    if (data.size + binary.size > MAX_DATA_SIZE) errs.push(tooLong(path(""), MAX_DATA_SIZE));
    return errs;
  },
  validateUpdate: (obj, old) => validateImmutableData(obj, old, ["data", "binaryData"]),
};

/** Data keys each Secret type must carry (ValidateSecret). */
const REQUIRED_KEYS: Record<string, string[]> = {
  "kubernetes.io/dockercfg": [".dockercfg"],
  "kubernetes.io/dockerconfigjson": [".dockerconfigjson"],
  "kubernetes.io/ssh-auth": ["ssh-privatekey"],
  "kubernetes.io/tls": ["tls.crt", "tls.key"],
};

export const secretAdmitter: Admitter = {
  nameFn: nameIsDNSSubdomain,
  defaults(obj) {
    obj.type ??= "Opaque";
    if (isRec(obj.stringData)) {
      const data = isRec(obj.data) ? obj.data : (obj.data = {});
      for (const [k, v] of Object.entries(obj.stringData)) data[k] = Buffer.from(String(v)).toString("base64");
      delete obj.stringData;
    }
  },
  validate(obj) {
    const p = path("data");
    const { errs, size } = validateDataMap(obj.data, p, { base64: true });
    errs.push(...wrongType(path("immutable"), obj.immutable, "boolean"));
    if (size > MAX_DATA_SIZE) errs.push(tooLong(p, MAX_DATA_SIZE));
    const type = str(obj.type);
    const data = rec(obj.data);
    if (!type) errs.push(required(path("type")));
    for (const key of REQUIRED_KEYS[type] ?? []) if (!(key in data)) errs.push(required(p.key(key)));
    if (type === "kubernetes.io/basic-auth" && !("username" in data) && !("password" in data))
      errs.push(required(p.key("username")), required(p.key("password")));
    if (type === "kubernetes.io/service-account-token" && !str(rec(obj.metadata.annotations)["kubernetes.io/service-account.name"]))
      errs.push(required(path("metadata", "annotations").key("kubernetes.io/service-account.name")));
    for (const key of [".dockercfg", ".dockerconfigjson"]) {
      if (REQUIRED_KEYS[type]?.[0] !== key || typeof data[key] !== "string") continue;
      try {
        JSON.parse(Buffer.from(data[key] as string, "base64").toString());
      } catch (e) {
        errs.push(invalid(p.key(key), "<secret contents redacted>", (e as Error).message));
      }
    }
    return errs;
  },
  validateUpdate(obj, old) {
    const errs = validateImmutableData(obj, old, ["data"]);
    if (str(obj.type) !== str(old.type)) errs.push(invalid(path("type"), obj.type ?? "", "field is immutable"));
    return errs;
  },
};

const EVENT_TYPES = ["Normal", "Warning"] as const;
const REASON_MAX = 128;
/** Kubernetes writes event times at second precision. */

export const eventAdmitter: Admitter = {
  nameFn: nameIsDNSSubdomain,
  defaults(obj, ctx) {
    obj.count ??= 1;
    obj.type ??= "Normal";
    if (obj.firstTimestamp === undefined && obj.lastTimestamp === undefined && (obj.eventTime === undefined || obj.eventTime === null)) {
      const now = stamp(ctx.now());
      obj.firstTimestamp = now;
      obj.lastTimestamp = now;
    }
    obj.firstTimestamp ??= obj.lastTimestamp;
    obj.lastTimestamp ??= obj.firstTimestamp;
  },
  validate(obj) {
    const errs: Cause[] = [];
    const involved = obj.involvedObject;
    if (!isRec(involved)) errs.push(involved === undefined ? required(path("involvedObject")) : invalid(path("involvedObject"), involved, "must be of type object"));
    const ns = str(rec(involved).namespace);
    if (ns && ns !== str(obj.metadata.namespace)) errs.push(invalid(path("involvedObject", "namespace"), ns, "does not match event.namespace"));
    if (!(EVENT_TYPES as readonly unknown[]).includes(obj.type)) errs.push(notSupported(path("type"), obj.type ?? "", EVENT_TYPES));
    if (str(obj.reason).length > REASON_MAX) errs.push(invalid(path("reason"), obj.reason, `can have at most ${REASON_MAX} characters`));
    if (!(isInt(obj.count) && obj.count >= 0)) errs.push(invalid(path("count"), obj.count ?? null, "must be greater than or equal to 0"));
    for (const f of ["firstTimestamp", "lastTimestamp", "eventTime"])
      if (obj[f] !== undefined && obj[f] !== null && !isTimestamp(obj[f])) errs.push(invalid(path(f), obj[f], "must be an RFC 3339 timestamp"));
    return errs;
  },
};

export const leaseAdmitter: Admitter = {
  nameFn: nameIsDNSSubdomain,
  validate(obj) {
    const p = path("spec");
    if (obj.spec === undefined || obj.spec === null) return [];
    if (!isRec(obj.spec)) return wrongType(p, obj.spec, "object");
    const spec = obj.spec;
    const errs = wrongType(p.child("holderIdentity"), spec.holderIdentity, "string");
    const d = spec.leaseDurationSeconds;
    if (d !== undefined && d !== null && !(isInt(d) && d > 0)) errs.push(invalid(p.child("leaseDurationSeconds"), d, "must be greater than 0"));
    const t = spec.leaseTransitions;
    if (t !== undefined && t !== null && !(isInt(t) && t >= 0)) errs.push(invalid(p.child("leaseTransitions"), t, "must be greater than or equal to 0"));
    for (const f of ["acquireTime", "renewTime"])
      if (spec[f] !== undefined && spec[f] !== null && !isTimestamp(spec[f])) errs.push(invalid(p.child(f), spec[f], "must be an RFC 3339 timestamp"));
    return errs;
  },
};
