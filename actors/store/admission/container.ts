/** Containers: Kubernetes' container defaults and validateContainers (ports, env, resources, probes, mounts). */
import type { Cause } from "../../../bus/errors.ts";
import { isQuantity, parseQuantity } from "../../../bus/quantity.ts";
import { type Path, type Rec, invalid, required, duplicate, notSupported, forbidden, notFound, wrongType, isRec, isInt, rec, arr, str } from "./field.ts";
import { validateMemberName } from "./meta.ts";
import { isDNS1123Label, isValidPortName, isValidPortNum, isEnvVarName, isConfigMapKey, isQualifiedName, isValidIP } from "./names.ts";

/** `Always` for `:latest` or an untagged image, else `IfNotPresent` (a digest counts as pinned). */
export function defaultPullPolicy(image: string): "Always" | "IfNotPresent" {
  if (image.includes("@")) return "IfNotPresent";
  const lastSegment = image.slice(image.lastIndexOf("/") + 1);
  const colon = lastSegment.lastIndexOf(":");
  const tag = colon < 0 ? "" : lastSegment.slice(colon + 1);
  return tag === "" || tag === "latest" ? "Always" : "IfNotPresent";
}

function defaultProbe(probe: unknown): void {
  if (!isRec(probe)) return;
  probe.timeoutSeconds ??= 1;
  probe.periodSeconds ??= 10;
  probe.successThreshold ??= 1;
  probe.failureThreshold ??= 3;
  if (isRec(probe.httpGet)) {
    probe.httpGet.path ??= "/";
    probe.httpGet.scheme ??= "HTTP";
  }
}

/** SetDefaults_Container and friends; mutates `c`. */
export function defaultContainer(c: Rec, hostNetwork: boolean): void {
  c.terminationMessagePath ??= "/dev/termination-log";
  c.terminationMessagePolicy ??= "File";
  c.imagePullPolicy ??= defaultPullPolicy(str(c.image));
  for (const port of arr(c.ports)) {
    if (!isRec(port)) continue;
    port.protocol ??= "TCP";
    if (hostNetwork && port.hostPort === undefined) port.hostPort = port.containerPort;
  }
  for (const e of arr(c.env)) {
    const fieldRef = rec(rec(rec(e).valueFrom).fieldRef);
    if (isRec(rec(rec(e).valueFrom).fieldRef)) fieldRef.apiVersion ??= "v1";
  }
  if (c.resources === undefined) c.resources = {};
  const res = rec(c.resources);
  if (isRec(res.limits) && Object.keys(res.limits).length > 0) {
    const requests = isRec(res.requests) ? res.requests : (res.requests = {});
    for (const [k, v] of Object.entries(res.limits)) if (!(k in requests)) requests[k] = v;
  }
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
}

const PROTOCOLS = ["SCTP", "TCP", "UDP"] as const;
const PULL_POLICIES = ["Always", "IfNotPresent", "Never"] as const;
const MESSAGE_POLICIES = ["FallbackToLogsOnError", "File"] as const;
const STANDARD_CONTAINER_RESOURCES = new Set(["cpu", "memory", "ephemeral-storage"]);

export function validatePortNumOrName(v: unknown, p: Path): Cause[] {
  if (isInt(v)) return isValidPortNum(v).map((m) => invalid(p, v, m));
  if (typeof v === "string" && v !== "") return isValidPortName(v).map((m) => invalid(p, v, m));
  return [invalid(p, v ?? "", "must contain at least one letter or number (a-z, 0-9)")];
}

function validateResources(r: unknown, p: Path): Cause[] {
  if (r === undefined) return [];
  if (!isRec(r)) return wrongType(p, r, "object");
  const errs: Cause[] = [];
  const parsed: Record<"limits" | "requests", Map<string, number>> = { limits: new Map(), requests: new Map() };
  for (const kind of ["limits", "requests"] as const) {
    errs.push(...wrongType(p.child(kind), r[kind], "object"));
    for (const [name, q] of Object.entries(rec(r[kind]))) {
      const kp = p.child(kind).key(name);
      if (!name.includes("/") && !STANDARD_CONTAINER_RESOURCES.has(name) && !name.startsWith("hugepages-"))
        errs.push(invalid(kp, name, "must be a standard resource for containers"));
      else for (const m of isQualifiedName(name)) errs.push(invalid(kp, name, m));
      if (!isQuantity(q)) {
        errs.push(invalid(kp, q, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"));
        continue;
      }
      const n = parseQuantity(q as string | number);
      if (n < 0) errs.push(invalid(kp, q, "must be greater than or equal to 0"));
      else parsed[kind].set(name, n);
    }
  }
  const requests = rec(r.requests);
  const limits = rec(r.limits);
  for (const [name, req] of parsed.requests) {
    const lim = parsed.limits.get(name);
    if (lim !== undefined && req > lim)
      errs.push(invalid(p.child("requests"), String(requests[name]), `must be less than or equal to ${name} limit of ${String(limits[name])}`));
  }
  return errs;
}

const HANDLERS = ["exec", "httpGet", "tcpSocket", "grpc"] as const;

function validateProbe(probe: unknown, p: Path, mustSucceedOnce: boolean): Cause[] {
  if (probe === undefined || probe === null) return [];
  if (!isRec(probe)) return wrongType(p, probe, "object");
  const errs: Cause[] = [];
  const present = HANDLERS.filter((h) => probe[h] !== undefined && probe[h] !== null);
  if (present.length === 0) errs.push(required(p, "must specify a handler type"));
  for (const h of present.slice(1)) errs.push(forbidden(p.child(h), "may not specify more than 1 handler type"));
  const exec = rec(probe.exec);
  if (present.includes("exec") && arr(exec.command).length === 0) errs.push(required(p.child("exec", "command")));
  if (present.includes("httpGet")) {
    const h = rec(probe.httpGet);
    errs.push(...validatePortNumOrName(h.port, p.child("httpGet", "port")));
    if (h.scheme !== undefined && h.scheme !== "HTTP" && h.scheme !== "HTTPS")
      errs.push(notSupported(p.child("httpGet", "scheme"), h.scheme, ["HTTP", "HTTPS"]));
  }
  if (present.includes("tcpSocket")) errs.push(...validatePortNumOrName(rec(probe.tcpSocket).port, p.child("tcpSocket", "port")));
  for (const f of ["initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"]) {
    const v = probe[f];
    if (v !== undefined && !(isInt(v) && v >= 0)) errs.push(invalid(p.child(f), v, "must be greater than or equal to 0"));
  }
  if (mustSucceedOnce && probe.successThreshold !== undefined && probe.successThreshold !== 1)
    errs.push(invalid(p.child("successThreshold"), probe.successThreshold, "must be 1"));
  return errs;
}

function validateEnv(env: unknown, p: Path): Cause[] {
  const errs = wrongType(p, env, "array");
  arr(env).forEach((raw, i) => {
    const ep = p.index(i);
    const e = rec(raw);
    const name = str(e.name);
    if (!name) errs.push(required(ep.child("name")));
    else for (const m of isEnvVarName(name)) errs.push(invalid(ep.child("name"), name, m));
    if (e.value !== undefined && typeof e.value !== "string") errs.push(invalid(ep.child("value"), e.value, "must be a string"));
    if (e.valueFrom === undefined || e.valueFrom === null) return;
    const vf = rec(e.valueFrom);
    const vp = ep.child("valueFrom");
    if (str(e.value) !== "") errs.push(invalid(vp, "", "may not be specified when `value` is not empty"));
    const sources = ["fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef"].filter((k) => vf[k] !== undefined);
    if (sources.length === 0)
      errs.push(invalid(vp, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"));
    else if (sources.length > 1) errs.push(invalid(vp, "", "may not have more than one field specified at a time"));
    if (vf.fieldRef !== undefined && !str(rec(vf.fieldRef).fieldPath)) errs.push(required(vp.child("fieldRef", "fieldPath")));
    if (vf.resourceFieldRef !== undefined && !str(rec(vf.resourceFieldRef).resource))
      errs.push(required(vp.child("resourceFieldRef", "resource")));
    for (const k of ["configMapKeyRef", "secretKeyRef"] as const) {
      if (vf[k] === undefined) continue;
      const ref = rec(vf[k]);
      if (!str(ref.key)) errs.push(required(vp.child(k, "key")));
      else for (const m of isConfigMapKey(str(ref.key))) errs.push(invalid(vp.child(k, "key"), ref.key, m));
      if (!str(ref.name)) errs.push(required(vp.child(k, "name")));
    }
  });
  return errs;
}

function validateEnvFrom(envFrom: unknown, p: Path): Cause[] {
  const errs = wrongType(p, envFrom, "array");
  arr(envFrom).forEach((raw, i) => {
    const e = rec(raw);
    const ip = p.index(i);
    const refs = ["configMapRef", "secretRef"].filter((k) => e[k] !== undefined);
    if (refs.length === 0) errs.push(invalid(ip, "", "must specify one of: `configMapRef` or `secretRef`"));
    else if (refs.length > 1) errs.push(invalid(ip, "", "may not have more than one field specified at a time"));
    for (const k of refs) if (!str(rec(e[k]).name)) errs.push(required(ip.child(k, "name")));
    if (str(e.prefix)) for (const m of isEnvVarName(str(e.prefix))) errs.push(invalid(ip.child("prefix"), e.prefix, m));
  });
  return errs;
}

function validatePorts(ports: unknown, p: Path, hostPorts: Set<string>): Cause[] {
  const errs = wrongType(p, ports, "array");
  const names = new Set<string>();
  arr(ports).forEach((raw, i) => {
    const pp = p.index(i);
    const port = rec(raw);
    errs.push(...validateMemberName(port.name, pp.child("name"), names, isValidPortName, true));
    if (port.containerPort === undefined || port.containerPort === 0) errs.push(required(pp.child("containerPort")));
    else for (const m of isValidPortNum(port.containerPort as number)) errs.push(invalid(pp.child("containerPort"), port.containerPort, m));
    if (port.hostPort !== undefined && port.hostPort !== 0) {
      for (const m of isValidPortNum(port.hostPort as number)) errs.push(invalid(pp.child("hostPort"), port.hostPort, m));
      const key = `${str(port.protocol) || "TCP"}/${str(port.hostIP)}/${String(port.hostPort)}`;
      if (hostPorts.has(key)) errs.push(duplicate(pp.child("hostPort"), key));
      hostPorts.add(key);
    }
    if (port.hostIP !== undefined) for (const m of isValidIP(str(port.hostIP))) errs.push(invalid(pp.child("hostIP"), port.hostIP, m));
    if (!(PROTOCOLS as readonly string[]).includes(str(port.protocol))) errs.push(notSupported(pp.child("protocol"), port.protocol ?? "", PROTOCOLS));
  });
  return errs;
}

function validateMounts(mounts: unknown, p: Path, volumes: Set<string>): Cause[] {
  const errs = wrongType(p, mounts, "array");
  const paths = new Set<string>();
  arr(mounts).forEach((raw, i) => {
    const mp = p.index(i);
    const m = rec(raw);
    const name = str(m.name);
    if (!name) errs.push(required(mp.child("name")));
    else if (!volumes.has(name)) errs.push(notFound(mp.child("name"), name));
    const mountPath = str(m.mountPath);
    if (!mountPath) errs.push(required(mp.child("mountPath")));
    else if (paths.has(mountPath)) errs.push(invalid(mp.child("mountPath"), mountPath, "must be unique"));
    paths.add(mountPath);
  });
  return errs;
}

export interface ContainerScope {
  volumes: Set<string>;
  /** Every container name seen so far across init and app containers. */
  names: Set<string>;
  hostPorts: Set<string>;
  /** Pods (not templates) also reject images with surrounding whitespace. */
  isPod: boolean;
}

/** validateContainers for one list (`spec.containers` or `spec.initContainers`). */
export function validateContainers(list: unknown, p: Path, scope: ContainerScope, init: boolean): Cause[] {
  if (!Array.isArray(list)) return wrongType(p, list, "array");
  const errs: Cause[] = [];
  list.forEach((raw, i) => {
    const cp = p.index(i);
    if (!isRec(raw)) return errs.push(invalid(cp, raw, "must be of type object"));
    const c = raw;
    errs.push(...validateMemberName(c.name, cp.child("name"), scope.names, isDNS1123Label));
    const image = str(c.image);
    if (!image) errs.push(required(cp.child("image")));
    else if (scope.isPod && image.trim() !== image) errs.push(invalid(cp.child("image"), image, "must not have leading or trailing whitespace"));
    if (!(PULL_POLICIES as readonly string[]).includes(str(c.imagePullPolicy)))
      errs.push(notSupported(cp.child("imagePullPolicy"), c.imagePullPolicy ?? "", PULL_POLICIES));
    if (!(MESSAGE_POLICIES as readonly string[]).includes(str(c.terminationMessagePolicy)))
      errs.push(notSupported(cp.child("terminationMessagePolicy"), c.terminationMessagePolicy ?? "", MESSAGE_POLICIES));
    for (const f of ["command", "args"]) {
      errs.push(...wrongType(cp.child(f), c[f], "array"));
      arr(c[f]).forEach((s, j) => typeof s !== "string" && errs.push(invalid(cp.child(f).index(j), s, "must be a string")));
    }
    errs.push(...validatePorts(c.ports, cp.child("ports"), scope.hostPorts));
    errs.push(...validateEnv(c.env, cp.child("env")));
    errs.push(...validateEnvFrom(c.envFrom, cp.child("envFrom")));
    errs.push(...validateResources(c.resources, cp.child("resources")));
    errs.push(...validateMounts(c.volumeMounts, cp.child("volumeMounts"), scope.volumes));
    const sidecar = c.restartPolicy === "Always";
    for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"] as const) {
      if (init && !sidecar && c[probe] !== undefined)
        errs.push(forbidden(cp.child(probe), "may not be set for init containers without restartPolicy=Always"));
      else errs.push(...validateProbe(c[probe], cp.child(probe), probe !== "readinessProbe"));
    }
    return undefined;
  });
  return errs;
}
