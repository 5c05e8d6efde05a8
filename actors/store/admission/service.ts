/** Services and Endpoints: SetDefaults_Service, ValidateService(Update), ValidateEndpoints. */
import type { Cause } from "../../../bus/errors.ts";
import type { Admitter } from "./types.ts";
import { type Path, type Rec, path, invalid, required, duplicate, notSupported, forbidden, wrongType, isRec, isInt, rec, arr, str } from "./field.ts";
import { nameIsDNS1035Label, nameIsDNSSubdomain, isDNS1123Label, isDNS1123Subdomain, isValidIP, isValidPortNum, isIPv6 } from "./names.ts";
import { validateLabels, validateMemberName } from "./meta.ts";
import { validatePortNumOrName } from "./container.ts";
import { NODE_PORT_RANGE } from "../allocation.ts";

const TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"] as const;
const PROTOCOLS = ["SCTP", "TCP", "UDP"] as const;
const AFFINITIES = ["ClientIP", "None"] as const;
const TRAFFIC_POLICIES = ["Cluster", "Local"] as const;
const MAX_AFFINITY_TIMEOUT = 86400;

const needsClusterIP = (spec: Rec) => spec.type !== "ExternalName";
const hasNodePorts = (spec: Rec) => spec.type === "NodePort" || spec.type === "LoadBalancer";

/** The REST layer's patchAllocatedValues: an update that omits allocated values keeps them. */
function keepAllocated(spec: Rec, old: Rec): void {
  if (needsClusterIP(spec) && needsClusterIP(old) && !str(spec.clusterIP) && str(old.clusterIP)) {
    spec.clusterIP = old.clusterIP;
    if (arr(spec.clusterIPs).length === 0 && old.clusterIPs !== undefined) spec.clusterIPs = old.clusterIPs;
  }
  if (hasNodePorts(spec) && hasNodePorts(old)) {
    for (const port of arr(spec.ports).map(rec)) {
      if (isInt(port.nodePort) && port.nodePort !== 0) continue;
      const match = arr(old.ports).map(rec).find((o) => o.port === port.port && (o.protocol ?? "TCP") === (port.protocol ?? "TCP"));
      if (match && isInt(match.nodePort)) port.nodePort = match.nodePort;
    }
  }
}

function validatePorts(spec: Rec, p: Path): Cause[] {
  const errs = wrongType(p, spec.ports, "array");
  const ports = arr(spec.ports).map(rec);
  const names = new Set<string>();
  const keys = new Set<string>();
  const nodePorts = new Set<string>();
  ports.forEach((port, i) => {
    const pp = p.index(i);
    errs.push(...validateMemberName(port.name, pp.child("name"), names, isDNS1123Label, ports.length === 1));
    const protocol = str(port.protocol);
    if (!(PROTOCOLS as readonly string[]).includes(protocol)) errs.push(notSupported(pp.child("protocol"), port.protocol ?? "", PROTOCOLS));
    for (const m of isValidPortNum(port.port as number)) errs.push(invalid(pp.child("port"), port.port ?? 0, m));
    errs.push(...validatePortNumOrName(port.targetPort, pp.child("targetPort")));
    const key = `${protocol}/${String(port.port)}`;
    if (keys.has(key)) errs.push(duplicate(pp, { port: port.port, protocol }));
    keys.add(key);
    const nodePort = port.nodePort;
    if (nodePort === undefined || nodePort === null || nodePort === 0) return;
    if (spec.type === "ClusterIP") errs.push(forbidden(pp.child("nodePort"), "may not be used when `type` is 'ClusterIP'"));
    else if (spec.type === "ExternalName") errs.push(forbidden(pp.child("nodePort"), "may not be used when `type` is 'ExternalName'"));
    else if (!(isInt(nodePort) && nodePort >= NODE_PORT_RANGE.min && nodePort <= NODE_PORT_RANGE.max))
      errs.push(invalid(pp.child("nodePort"), nodePort, `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_RANGE.min}-${NODE_PORT_RANGE.max}`));
    else {
      const nk = `${protocol}/${nodePort}`;
      if (nodePorts.has(nk)) errs.push(duplicate(pp.child("nodePort"), nodePort));
      nodePorts.add(nk);
    }
  });
  return errs;
}

function validateClusterIPs(spec: Rec, p: Path): Cause[] {
  const errs: Cause[] = [];
  const ip = str(spec.clusterIP);
  if (!needsClusterIP(spec)) {
    if (ip) errs.push(forbidden(p.child("clusterIP"), "may not be set for ExternalName services"));
    return errs;
  }
  if (ip && ip !== "None") for (const m of isValidIP(ip)) errs.push(invalid(p.child("clusterIP"), ip, m));
  if (ip === "None" && hasNodePorts(spec)) errs.push(invalid(p.child("clusterIP"), ip, `may not be set to 'None' for ${String(spec.type)} services`));
  errs.push(...wrongType(p.child("clusterIPs"), spec.clusterIPs, "array"));
  const ips = arr(spec.clusterIPs);
  if (ips.length && ips[0] !== ip) errs.push(invalid(p.child("clusterIPs").index(0), ips[0], "first value must match `clusterIP`"));
  ips.forEach((x, i) => {
    if (i > 0 || x !== "None") for (const m of isValidIP(str(x))) errs.push(invalid(p.child("clusterIPs").index(i), x, m));
  });
  return errs;
}

export const serviceAdmitter: Admitter = {
  nameFn: nameIsDNS1035Label,
  defaults(obj, ctx) {
    if (!isRec(obj.spec)) return;
    const spec = obj.spec;
    if (ctx.operation === "update" && isRec(ctx.old?.spec)) keepAllocated(spec, ctx.old.spec);
    spec.type ??= "ClusterIP";
    spec.sessionAffinity ??= "None";
    if (spec.sessionAffinity === "ClientIP") {
      const cfg = isRec(spec.sessionAffinityConfig) ? spec.sessionAffinityConfig : (spec.sessionAffinityConfig = {});
      const client = isRec(cfg.clientIP) ? cfg.clientIP : (cfg.clientIP = {});
      client.timeoutSeconds ??= 10800;
    }
    for (const port of arr(spec.ports)) {
      if (!isRec(port)) continue;
      port.protocol ??= "TCP";
      if (port.targetPort === undefined || port.targetPort === 0 || port.targetPort === "") port.targetPort = port.port;
    }
    if (hasNodePorts(spec)) spec.externalTrafficPolicy ??= "Cluster";
    if (needsClusterIP(spec)) {
      spec.internalTrafficPolicy ??= "Cluster";
      const ip = str(spec.clusterIP);
      if (ip && spec.clusterIPs === undefined) spec.clusterIPs = [ip];
      spec.ipFamilyPolicy ??= "SingleStack";
      spec.ipFamilies ??= [isIPv6(ip) ? "IPv6" : "IPv4"];
    }
  },
  prepareCreate(obj) {
    obj.status = { loadBalancer: {} };
  },
  validate(obj) {
    const p = path("spec");
    if (!isRec(obj.spec)) return [required(p)];
    const spec = obj.spec;
    const errs: Cause[] = [];
    if (!(TYPES as readonly unknown[]).includes(spec.type)) errs.push(notSupported(p.child("type"), spec.type ?? "", TYPES));
    if (spec.type === "ExternalName") {
      const name = str(spec.externalName).replace(/\.$/, "");
      if (!name) errs.push(required(p.child("externalName")));
      else for (const m of isDNS1123Subdomain(name)) errs.push(invalid(p.child("externalName"), spec.externalName, m));
    } else if (arr(spec.ports).length === 0 && spec.clusterIP !== "None") errs.push(required(p.child("ports")));
    errs.push(...validatePorts(spec, p.child("ports")));
    errs.push(...validateClusterIPs(spec, p));
    errs.push(...validateLabels(spec.selector, p.child("selector")));
    if (!(AFFINITIES as readonly unknown[]).includes(spec.sessionAffinity))
      errs.push(notSupported(p.child("sessionAffinity"), spec.sessionAffinity ?? "", AFFINITIES));
    const timeout = rec(rec(spec.sessionAffinityConfig).clientIP).timeoutSeconds;
    if (spec.sessionAffinity === "ClientIP" && !(isInt(timeout) && timeout > 0 && timeout <= MAX_AFFINITY_TIMEOUT))
      errs.push(invalid(p.child("sessionAffinityConfig", "clientIP", "timeoutSeconds"), timeout ?? 0, `must be greater than 0 and less than ${MAX_AFFINITY_TIMEOUT}`));
    if (spec.sessionAffinity === "None" && spec.sessionAffinityConfig !== undefined && spec.sessionAffinityConfig !== null)
      errs.push(forbidden(p.child("sessionAffinityConfig"), "must not be set when `sessionAffinity` is None"));
    for (const f of ["externalTrafficPolicy", "internalTrafficPolicy"])
      if (spec[f] !== undefined && !(TRAFFIC_POLICIES as readonly unknown[]).includes(spec[f]))
        errs.push(notSupported(p.child(f), spec[f], TRAFFIC_POLICIES));
    arr(spec.externalIPs).forEach((ip, i) => {
      for (const m of isValidIP(str(ip))) errs.push(invalid(p.child("externalIPs").index(i), ip, m));
    });
    return errs;
  },
  validateUpdate(obj, old) {
    const spec = rec(obj.spec);
    const before = rec(old.spec);
    if (needsClusterIP(spec) && needsClusterIP(before) && str(before.clusterIP) && spec.clusterIP !== before.clusterIP)
      return [invalid(path("spec", "clusterIP"), spec.clusterIP ?? "", "field is immutable")];
    return [];
  },
  validateStatus(obj) {
    const p = path("status", "loadBalancer", "ingress");
    const errs: Cause[] = [];
    arr(rec(rec(obj.status).loadBalancer).ingress).forEach((raw, i) => {
      const ip = rec(raw).ip;
      if (ip !== undefined) for (const m of isValidIP(str(ip))) errs.push(invalid(p.index(i).child("ip"), ip, m));
    });
    return errs;
  },
};

function validateAddress(raw: unknown, p: Path): Cause[] {
  const a = rec(raw);
  const errs: Cause[] = [];
  if (!str(a.ip)) errs.push(required(p.child("ip")));
  else for (const m of isValidIP(str(a.ip))) errs.push(invalid(p.child("ip"), a.ip, m));
  if (str(a.hostname)) for (const m of isDNS1123Label(str(a.hostname))) errs.push(invalid(p.child("hostname"), a.hostname, m));
  if (str(a.nodeName)) for (const m of isDNS1123Subdomain(str(a.nodeName))) errs.push(invalid(p.child("nodeName"), a.nodeName, m));
  return errs;
}

/** Endpoints: Flotilla's process-engine pods live on loopback, so loopback addresses are allowed (Kubernetes refuses them). */
export const endpointsAdmitter: Admitter = {
  nameFn: nameIsDNSSubdomain,
  defaults(obj) {
    for (const ss of arr(obj.subsets)) for (const port of arr(rec(ss).ports)) if (isRec(port)) port.protocol ??= "TCP";
  },
  validate(obj) {
    const p = path("subsets");
    const errs = wrongType(p, obj.subsets, "array");
    arr(obj.subsets).forEach((raw, i) => {
      const ss = rec(raw);
      const sp = p.index(i);
      if (arr(ss.addresses).length === 0 && arr(ss.notReadyAddresses).length === 0)
        errs.push(required(sp, "must specify `addresses` or `notReadyAddresses`"));
      for (const list of ["addresses", "notReadyAddresses"]) arr(ss[list]).forEach((a, j) => errs.push(...validateAddress(a, sp.child(list).index(j))));
      const ports = arr(ss.ports).map(rec);
      const names = new Set<string>();
      ports.forEach((port, j) => {
        const pp = sp.child("ports").index(j);
        errs.push(...validateMemberName(port.name, pp.child("name"), names, isDNS1123Label, ports.length === 1));
        for (const m of isValidPortNum(port.port as number)) errs.push(invalid(pp.child("port"), port.port ?? 0, m));
        if (!(PROTOCOLS as readonly unknown[]).includes(port.protocol)) errs.push(notSupported(pp.child("protocol"), port.protocol ?? "", PROTOCOLS));
      });
    });
    return errs;
  },
};
