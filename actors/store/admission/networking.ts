/**
 * networking.k8s.io/v1 (Ingress, IngressClass, NetworkPolicy) and discovery.k8s.io/v1
 * (EndpointSlice): defaults and validation as k8s.io/kubernetes pkg/apis/networking/validation and
 * pkg/apis/discovery/validation word them.
 */
import type { Cause } from "../../../bus/errors.ts";
import type { KubeObject } from "../../../bus/resources.ts";
import type { Admitter } from "./types.ts";
import { type Path, path, invalid, required, notSupported, forbidden, tooLong, isRec, rec, arr, str, isInt, deepEqual } from "./field.ts";
import { nameIsDNSSubdomain, isDNS1123Subdomain, isDNS1035Label, isValidPortName, isValidPortNum, isValidIP, isValidCIDR, isIPv4, isIPv6 } from "./names.ts";
import { validateLabelSelector } from "./meta.ts";
import { inCidr, parseCidr } from "../../../bus/cidr.ts";

const PATH_TYPES = ["Exact", "Prefix", "ImplementationSpecific"];
const PROTOCOLS = ["TCP", "UDP", "SCTP"];

function validateHost(host: string, p: Path): Cause[] {
  if (isValidIP(host).length === 0) return [invalid(p, host, "must be a DNS name, not an IP address")];
  if (host.startsWith("*.")) {
    const rest = isDNS1123Subdomain(host.slice(2));
    return rest.length ? [invalid(p, host, "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")] : [];
  }
  return isDNS1123Subdomain(host).map((m) => invalid(p, host, m));
}

function validateBackend(b: unknown, p: Path): Cause[] {
  const be = rec(b);
  const svc = be.service;
  if (svc !== undefined && be.resource !== undefined) return [invalid(p, b, "cannot set both resource and service backends")];
  if (svc === undefined && be.resource === undefined) return [invalid(p, b, "resource or service backend is required")];
  if (be.resource !== undefined) {
    const r = rec(be.resource);
    const errs: Cause[] = [];
    if (!str(r.kind)) errs.push(required(p.child("resource", "kind")));
    if (!str(r.name)) errs.push(required(p.child("resource", "name")));
    return errs;
  }
  const s = rec(svc);
  const errs: Cause[] = [];
  if (!str(s.name)) errs.push(required(p.child("service", "name")));
  else errs.push(...isDNS1035Label(str(s.name)).map((m) => invalid(p.child("service", "name"), s.name, m)));
  const port = rec(s.port);
  const pp = p.child("service", "port");
  const hasName = port.name !== undefined && port.name !== "";
  const hasNumber = port.number !== undefined && port.number !== 0;
  if (hasName && hasNumber) errs.push(invalid(pp, s.port, "cannot set both port name & port number"));
  else if (hasName) errs.push(...isValidPortName(str(port.name)).map((m) => invalid(pp.child("name"), port.name, m)));
  else if (hasNumber) errs.push(...(isInt(port.number) ? isValidPortNum(port.number) : ["must be an integer"]).map((m) => invalid(pp.child("number"), port.number, m)));
  else errs.push(invalid(pp, s.port, "port name or number is required"));
  return errs;
}

function validatePath(pa: unknown, p: Path): Cause[] {
  const hp = rec(pa);
  const errs: Cause[] = [];
  const type = hp.pathType;
  if (type === undefined || type === "") errs.push(required(p.child("pathType"), "pathType must be specified"));
  else if (!PATH_TYPES.includes(String(type))) errs.push(notSupported(p.child("pathType"), type, PATH_TYPES));
  const pv = str(hp.path);
  if (type === "Exact" || type === "Prefix" || (type === "ImplementationSpecific" && pv !== "")) {
    if (!pv.startsWith("/")) errs.push(invalid(p.child("path"), hp.path ?? "", "must be an absolute path"));
    else {
      for (const bad of ["//", "/./", "/../", "%2f", "%2F"]) if (pv.includes(bad)) errs.push(invalid(p.child("path"), pv, `must not contain '${bad}'`));
      for (const bad of ["/..", "/."]) if (pv.endsWith(bad)) errs.push(invalid(p.child("path"), pv, `must not end with '${bad}'`));
    }
  }
  if (hp.backend === undefined) errs.push(required(p.child("backend")));
  else errs.push(...validateBackend(hp.backend, p.child("backend")));
  return errs;
}

export const ingressAdmitter: Admitter = {
  nameFn: nameIsDNSSubdomain,
  tracksGeneration: true,
  validate(o: KubeObject) {
    const spec = rec(o.spec);
    const errs: Cause[] = [];
    const rules = arr(spec.rules);
    if (spec.defaultBackend === undefined && rules.length === 0) errs.push(invalid(path("spec"), "", "either `defaultBackend` or `rules` must be specified"));
    if (spec.defaultBackend !== undefined) errs.push(...validateBackend(spec.defaultBackend, path("spec", "defaultBackend")));
    if (spec.ingressClassName !== undefined) errs.push(...isDNS1123Subdomain(str(spec.ingressClassName)).map((m) => invalid(path("spec", "ingressClassName"), spec.ingressClassName, m)));
    for (const [i, r] of rules.entries()) {
      const p = path("spec", "rules").index(i);
      const rule = rec(r);
      if (rule.host !== undefined && rule.host !== "") errs.push(...validateHost(str(rule.host), p.child("host")));
      if (rule.http === undefined) continue;
      const paths = arr(rec(rule.http).paths);
      if (paths.length === 0) errs.push(required(p.child("http", "paths")));
      for (const [j, pa] of paths.entries()) errs.push(...validatePath(pa, p.child("http", "paths").index(j)));
    }
    for (const [i, t] of arr(spec.tls).entries()) {
      const p = path("spec", "tls").index(i);
      for (const [j, h] of arr(rec(t).hosts).entries()) errs.push(...validateHost(str(h), p.child("hosts").index(j)));
      const secret = rec(t).secretName;
      if (secret !== undefined && secret !== "") errs.push(...isDNS1123Subdomain(str(secret)).map((m) => invalid(p.child("secretName"), secret, m)));
    }
    return errs;
  },
  validateStatus(o: KubeObject) {
    const errs: Cause[] = [];
    for (const [i, lb] of arr(rec(rec(o.status).loadBalancer).ingress).entries()) {
      const ip = rec(lb).ip;
      if (ip !== undefined && ip !== "") errs.push(...isValidIP(str(ip)).map((m) => invalid(path("status", "loadBalancer", "ingress").index(i).child("ip"), ip, m)));
    }
    return errs;
  },
};

export const ingressClassAdmitter: Admitter = {
  nameFn: nameIsDNSSubdomain,
  tracksGeneration: true,
  validate(o: KubeObject) {
    const controller = rec(o.spec).controller;
    const p = path("spec", "controller");
    if (controller === undefined || controller === "") return [required(p)];
    const c = str(controller);
    if (c.length > 250) return [tooLong(p, 250)];
    const [domain, ...rest] = c.split("/");
    if (rest.length === 0 || rest.join("/") === "" || isDNS1123Subdomain(domain ?? "").length) return [invalid(p, c, "must be a domain-prefixed path (such as \"acme.io/foo\")")];
    return [];
  },
  validateUpdate: (o, old) => (rec(o.spec).controller !== rec(old.spec).controller ? [invalid(path("spec", "controller"), rec(o.spec).controller, "field is immutable")] : []),
};

// ---------- NetworkPolicy ----------

function validatePorts(ports: unknown, p: Path): Cause[] {
  const errs: Cause[] = [];
  for (const [i, x] of arr(ports).entries()) {
    const pp = p.index(i);
    const port = rec(x);
    if (port.protocol !== undefined && !PROTOCOLS.includes(String(port.protocol))) errs.push(notSupported(pp.child("protocol"), port.protocol, PROTOCOLS));
    if (port.port === undefined) {
      if (port.endPort !== undefined) errs.push(required(pp.child("port"), "must specify port when endPort is specified"));
      continue;
    }
    if (isInt(port.port)) {
      errs.push(...isValidPortNum(port.port).map((m) => invalid(pp.child("port"), port.port, m)));
      if (port.endPort !== undefined) {
        if (!isInt(port.endPort) || port.endPort < port.port) errs.push(invalid(pp.child("endPort"), port.endPort, "must be greater than or equal to `port`"));
      }
    } else if (typeof port.port === "string") {
      errs.push(...isValidPortName(port.port).map((m) => invalid(pp.child("port"), port.port, m)));
      if (port.endPort !== undefined) errs.push(invalid(pp.child("endPort"), port.endPort, "may not be specified when `port` is non-numeric"));
    } else errs.push(invalid(pp.child("port"), port.port, "must be an integer or a string"));
  }
  return errs;
}

function validatePeers(peers: unknown, p: Path): Cause[] {
  const errs: Cause[] = [];
  for (const [i, x] of arr(peers).entries()) {
    const pp = p.index(i);
    const peer = rec(x);
    const set = ["podSelector", "namespaceSelector", "ipBlock"].filter((k) => peer[k] !== undefined);
    if (set.length === 0) errs.push(required(pp, "must specify a peer"));
    if (peer.ipBlock !== undefined && set.length > 1) errs.push(forbidden(pp, "may not specify both ipBlock and another peer"));
    if (peer.podSelector !== undefined) errs.push(...validateLabelSelector(peer.podSelector, pp.child("podSelector")));
    if (peer.namespaceSelector !== undefined) errs.push(...validateLabelSelector(peer.namespaceSelector, pp.child("namespaceSelector")));
    if (peer.ipBlock !== undefined) errs.push(...validateIPBlock(peer.ipBlock, pp.child("ipBlock")));
  }
  return errs;
}

function validateIPBlock(b: unknown, p: Path): Cause[] {
  const block = rec(b);
  const cidr = str(block.cidr);
  if (!cidr) return [required(p.child("cidr"))];
  const bad = isValidCIDR(cidr);
  if (bad.length) return bad.map((m) => invalid(p.child("cidr"), cidr, m));
  const errs: Cause[] = [];
  for (const [i, e] of arr(block.except).entries()) {
    const ep = p.child("except").index(i);
    const m = isValidCIDR(str(e));
    if (m.length) {
      errs.push(...m.map((x) => invalid(ep, e, x)));
      continue;
    }
    // IPv4 blocks are compared; an IPv6 except is accepted as written.
    if (isIPv4(cidr.split("/")[0]!) && isIPv4(str(e).split("/")[0]!)) {
      const outer = parseCidr(cidr);
      const inner = parseCidr(str(e));
      if (inner.prefix <= outer.prefix || !inCidr(str(e).split("/")[0]!, outer)) errs.push(invalid(ep, e, "must be a strict subset of `cidr`"));
    }
  }
  return errs;
}

export const networkPolicyAdmitter: Admitter = {
  nameFn: nameIsDNSSubdomain,
  tracksGeneration: true,
  defaults(o: KubeObject) {
    const spec = (o.spec = rec(o.spec)) as Record<string, unknown>;
    spec.podSelector ??= {};
    for (const r of [...arr(spec.ingress), ...arr(spec.egress)]) for (const port of arr(rec(r).ports)) if (isRec(port)) port.protocol ??= "TCP";
    if (spec.policyTypes === undefined || arr(spec.policyTypes).length === 0) spec.policyTypes = spec.egress !== undefined ? ["Ingress", "Egress"] : ["Ingress"];
  },
  validate(o: KubeObject) {
    const spec = rec(o.spec);
    const errs = [...validateLabelSelector(spec.podSelector, path("spec", "podSelector"))];
    const types = arr(spec.policyTypes);
    if (types.length > 2) errs.push(invalid(path("spec", "policyTypes"), types, "may not specify more than two policyTypes"));
    for (const [i, t] of types.entries()) if (t !== "Ingress" && t !== "Egress") errs.push(notSupported(path("spec", "policyTypes").index(i), t, ["Ingress", "Egress"]));
    for (const [i, r] of arr(spec.ingress).entries()) {
      const p = path("spec", "ingress").index(i);
      errs.push(...validatePorts(rec(r).ports, p.child("ports")), ...validatePeers(rec(r).from, p.child("from")));
    }
    for (const [i, r] of arr(spec.egress).entries()) {
      const p = path("spec", "egress").index(i);
      errs.push(...validatePorts(rec(r).ports, p.child("ports")), ...validatePeers(rec(r).to, p.child("to")));
    }
    return errs;
  },
};

// ---------- EndpointSlice ----------

const ADDRESS_TYPES = ["IPv4", "IPv6", "FQDN"];

export const endpointSliceAdmitter: Admitter = {
  nameFn: nameIsDNSSubdomain,
  defaults(o: KubeObject) {
    for (const port of arr(o.ports)) if (isRec(port)) port.protocol ??= "TCP";
  },
  validate(o: KubeObject) {
    const errs: Cause[] = [];
    const type = o.addressType;
    if (type === undefined || type === "") errs.push(required(path("addressType")));
    else if (!ADDRESS_TYPES.includes(String(type))) errs.push(notSupported(path("addressType"), type, ADDRESS_TYPES));
    const eps = arr(o.endpoints);
    if (eps.length > 1000) errs.push(tooLong(path("endpoints"), 1000));
    for (const [i, e] of eps.entries()) {
      const p = path("endpoints").index(i);
      const addrs = arr(rec(e).addresses);
      if (addrs.length === 0) errs.push(required(p.child("addresses"), "must contain at least 1 address"));
      if (addrs.length > 100) errs.push(tooLong(p.child("addresses"), 100));
      for (const [j, a] of addrs.entries()) {
        const ap = p.child("addresses").index(j);
        const ok = type === "IPv4" ? isIPv4(str(a)) : type === "IPv6" ? isIPv6(str(a)) : isDNS1123Subdomain(str(a)).length === 0;
        if (!ok) errs.push(invalid(ap, a, type === "FQDN" ? "must be a valid DNS subdomain" : `must be a valid ${String(type)} address`));
      }
    }
    const ports = arr(o.ports);
    if (ports.length > 100) errs.push(tooLong(path("ports"), 100));
    for (const [i, x] of ports.entries()) {
      const p = path("ports").index(i);
      const port = rec(x);
      if (port.name !== undefined && port.name !== "") errs.push(...isValidPortName(str(port.name)).map((m) => invalid(p.child("name"), port.name, m)));
      if (port.protocol !== undefined && !PROTOCOLS.includes(String(port.protocol))) errs.push(notSupported(p.child("protocol"), port.protocol, PROTOCOLS));
      if (port.port !== undefined && port.port !== null) errs.push(...(isInt(port.port) ? isValidPortNum(port.port) : ["must be an integer"]).map((m) => invalid(p.child("port"), port.port, m)));
    }
    return errs;
  },
  validateUpdate: (o, old) => (!deepEqual(o.addressType, old.addressType) ? [invalid(path("addressType"), o.addressType, "field is immutable")] : []),
};
