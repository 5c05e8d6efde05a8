/**
 * The cluster CA and the api-server's serving certificate, generated with node-forge on first start
 * and kept in `<dataDir>/pki/` (ca.crt, ca.key, server.crt, server.key).
 *
 * @example
 *   const { caPem, certPem, keyPem } = ensurePki(dataDir);
 *   https.createServer({ cert: certPem, key: keyPem }, handler);
 */
import type { Logger } from "../../runtime/logger.ts";
import type { Service } from "../../bus/resources.ts";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import { hostname, networkInterfaces } from "node:os";
import { join } from "node:path";
import { generateKeyPairSync } from "node:crypto";
import forge from "node-forge";
import { readCheckedFile, setAside, writeFileAtomic } from "../../runtime/atomic-file.ts";

const { pki } = forge;
const YEARS_CA = 10;
const YEARS_SERVER = 2;

function serial(): string {
  // Positive 16-byte serial number.
  return "01" + forge.util.bytesToHex(forge.random.getBytesSync(15));
}

function years(n: number): { notBefore: Date; notAfter: Date } {
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore);
  notAfter.setFullYear(notAfter.getFullYear() + n);
  return { notBefore, notAfter };
}

/**
 * The names in-cluster clients use for the API (the `default/kubernetes` Service under every search
 * suffix a pod's resolv.conf gives), as kube-apiserver's serving certificate carries them.
 */
export const KUBERNETES_SERVICE_NAMES = ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"] as const;

/** The subject alternative names the serving certificate carries. */
export function serverSans(): { dns: string[]; ips: string[] } {
  const dns = [...new Set(["localhost", hostname(), ...KUBERNETES_SERVICE_NAMES])];
  const ips = new Set(["127.0.0.1", "::1"]);
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (!a.address.includes("%")) ips.add(a.address);
  }
  return { dns, ips: [...ips] };
}

/** An RSA key pair from node's native crypto (forge's own generator takes seconds). */
function rsaKeys(): { publicKey: forge.pki.rsa.PublicKey; privateKey: forge.pki.rsa.PrivateKey } {
  const k = generateKeyPairSync("rsa", { modulusLength: 2048, publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs1", format: "pem" } });
  return { publicKey: pki.publicKeyFromPem(k.publicKey) as forge.pki.rsa.PublicKey, privateKey: pki.privateKeyFromPem(k.privateKey) as forge.pki.rsa.PrivateKey };
}

export function generateCa(): { certPem: string; keyPem: string } {
  const keys = rsaKeys();
  const cert = pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  Object.assign(cert.validity, years(YEARS_CA));
  const attrs = [{ name: "commonName", value: "flotilla-ca" }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: pki.certificateToPem(cert), keyPem: pki.privateKeyToPem(keys.privateKey) };
}

/** What a certificate the cluster CA signs says: its subject, its uses and (servers) the names it serves. */
export interface LeafSpec {
  subject: { name: string; value: string }[];
  validYears: number;
  extKeyUsage: { serverAuth?: boolean; clientAuth?: boolean };
  sans?: { dns: string[]; ips: string[] };
}

/** A new key and a certificate for it, signed by the cluster CA. */
export function signedByCa(ca: { certPem: string; keyPem: string }, spec: LeafSpec): { certPem: string; keyPem: string } {
  const caCert = pki.certificateFromPem(ca.certPem);
  const caKey = pki.privateKeyFromPem(ca.keyPem);
  const keys = rsaKeys();
  const cert = pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  Object.assign(cert.validity, years(spec.validYears));
  cert.setSubject(spec.subject);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", ...spec.extKeyUsage },
    ...(spec.sans ? [{ name: "subjectAltName", altNames: [...spec.sans.dns.map((value) => ({ type: 2, value })), ...spec.sans.ips.map((ip) => ({ type: 7, ip }))] }] : []),
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: pki.certificateToPem(cert), keyPem: pki.privateKeyToPem(keys.privateKey) };
}

export function generateServerCert(ca: { certPem: string; keyPem: string }, sans = serverSans()): { certPem: string; keyPem: string } {
  return signedByCa(ca, { subject: [{ name: "commonName", value: "flotilla-api-server" }], validYears: YEARS_SERVER, extKeyUsage: { serverAuth: true }, sans });
}

/**
 * A client certificate of the cluster CA, as kube-apiserver's x509 authenticator reads it: the
 * subject's CommonName is the user, each Organization a group.
 */
export function generateClientCert(ca: { certPem: string; keyPem: string }, user: string, groups: string[] = [], validYears = 1): { certPem: string; keyPem: string } {
  return signedByCa(ca, {
    subject: [...groups.map((value) => ({ name: "organizationName", value })), { name: "commonName", value: user }],
    validYears,
    extKeyUsage: { clientAuth: true },
  });
}

interface Pair {
  certPem: string;
  keyPem: string;
}

const pem = (parse: (text: string) => unknown) => (text: string) => (parse(text), text);

/**
 * A certificate and its key from two files, or undefined when either is absent, does not parse,
 * or the two do not belong together; what was there is set aside.
 */
function readPair(certPath: string, keyPath: string, log?: Logger): Pair | undefined {
  const certPem = readCheckedFile(certPath, pem((t) => pki.certificateFromPem(t)), log);
  const keyPem = readCheckedFile(keyPath, pem((t) => pki.privateKeyFromPem(t)), log);
  if (certPem !== undefined && keyPem !== undefined) {
    try {
      createSecureContext({ cert: certPem, key: keyPem });
      return { certPem, keyPem };
    } catch (e) {
      setAside(certPath, `does not match its key: ${(e as Error).message}`, log);
      setAside(keyPath, "does not match its certificate", log);
      return undefined;
    }
  }
  // Half a pair is useless: keep it for a person to look at, out of the way.
  if (certPem !== undefined) setAside(certPath, `its key ${keyPath} is missing or corrupt`, log);
  if (keyPem !== undefined) setAside(keyPath, `its certificate ${certPath} is missing or corrupt`, log);
  return undefined;
}

function writePair(certPath: string, keyPath: string, p: Pair): void {
  writeFileAtomic(keyPath, p.keyPem, { mode: 0o600 });
  writeFileAtomic(certPath, p.certPem);
}

/**
 * Reads the PKI from `<dataDir>/pki`, creating whatever is missing. Corrupt files are set aside
 * and made anew (a new CA means a new serving certificate and a new kubeconfig).
 */
export function ensurePki(dataDir: string, log?: Logger): { caPem: string; certPem: string; keyPem: string } {
  const dir = join(dataDir, "pki");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = (f: string) => join(dir, f);
  let ca = readPair(p("ca.crt"), p("ca.key"), log);
  let server = ca && readPair(p("server.crt"), p("server.key"), log);
  if (!ca) {
    ca = generateCa();
    writePair(p("ca.crt"), p("ca.key"), ca);
    server = undefined;
  }
  if (!server) {
    server = generateServerCert(ca);
    writePair(p("server.crt"), p("server.key"), server);
  }
  return { caPem: ca.certPem, certPem: server.certPem, keyPem: server.keyPem };
}

/**
 * The addresses pods reach the api-server at, which its serving certificate must name: the
 * `default/kubernetes` Service's ClusterIPs (a pod's KUBERNETES_SERVICE_HOST) and the advertised
 * address (the Service's endpoint: the node bridge in pod mode). Pure.
 */
export function podFacingAddresses(kubernetes: Pick<Service, "spec"> | undefined, advertise: string): string[] {
  const clusterIPs = kubernetes?.spec.clusterIPs ?? (kubernetes?.spec.clusterIP ? [kubernetes.spec.clusterIP] : []);
  return [...new Set([...clusterIPs, advertise])].filter((ip) => ip && ip !== "None" && ip !== "0.0.0.0" && ip !== "::");
}

/** The DNS names and IP addresses a certificate's subjectAltName holds. */
export function certificateSans(certPem: string): { dns: string[]; ips: string[] } {
  const san = pki.certificateFromPem(certPem).getExtension("subjectAltName") as { altNames?: { type: number; value?: string; ip?: string }[] } | null;
  const names = san?.altNames ?? [];
  return { dns: names.filter((a) => a.type === 2 && a.value).map((a) => a.value!), ips: names.filter((a) => a.type === 7 && a.ip).map((a) => a.ip!) };
}

/**
 * Makes `<dataDir>/pki/server.crt` a certificate of the CA in `pki/ca.crt` that names `ips` and
 * `dns` too (a server's own address; the `default/kubernetes` ClusterIP and the address pods reach
 * the server at): issues a new one when the CA changed or a name is missing. A new certificate
 * keeps every name the old one had (servers sharing a data dir each add their own), the machine's
 * current interface addresses and the Service names. Returns the pair in place, and whether it is new.
 */
export function ensureServingCert(dataDir: string, ips: readonly string[], dns: readonly string[] = []): { certPem: string; keyPem: string; issued: boolean } {
  const p = (f: string) => join(dataDir, "pki", f);
  const ca = { certPem: readFileSync(p("ca.crt"), "utf8"), keyPem: readFileSync(p("ca.key"), "utf8") };
  let kept: { dns: string[]; ips: string[] } = { dns: [], ips: [] };
  if (existsSync(p("server.crt")) && existsSync(p("server.key"))) {
    const certPem = readFileSync(p("server.crt"), "utf8");
    const issuedByCa = (() => {
      try {
        return pki.certificateFromPem(ca.certPem).verify(pki.certificateFromPem(certPem));
      } catch {
        return false;
      }
    })();
    if (issuedByCa) {
      kept = certificateSans(certPem);
      const has = new Set([...kept.dns, ...kept.ips]);
      if ([...ips, ...dns, ...KUBERNETES_SERVICE_NAMES].every((n) => has.has(n))) return { certPem, keyPem: readFileSync(p("server.key"), "utf8"), issued: false };
    }
  }
  const sans = serverSans();
  const s = generateServerCert(ca, { dns: [...new Set([...sans.dns, ...kept.dns, ...dns])], ips: [...new Set([...sans.ips, ...kept.ips, ...ips])] });
  writePair(p("server.crt"), p("server.key"), s);
  return { ...s, issued: true };
}

/** The user and groups of the admin kubeconfig's client certificate (kind and k3s use the same group). */
export const ADMIN_CERT_USER = "kubernetes-admin";
export const ADMIN_CERT_GROUPS = ["system:masters"] as const;

/**
 * The admin client certificate `<dataDir>/pki/admin.{crt,key}` (CN=kubernetes-admin,
 * O=system:masters), issued by the CA in `<caDir>/pki/ca.crt`: kept while the CA signed it and it has a
 * month left, issued anew otherwise. The key is 0600, like every key in `pki/`.
 */
export function ensureAdminClientCert(dataDir: string, caDir = dataDir, nowMs = Date.now()): { certPem: string; keyPem: string } {
  const p = (f: string) => join(dataDir, "pki", f);
  const c = (f: string) => join(caDir, "pki", f);
  const ca = { certPem: readFileSync(c("ca.crt"), "utf8"), keyPem: readFileSync(c("ca.key"), "utf8") };
  if (existsSync(p("admin.crt")) && existsSync(p("admin.key"))) {
    try {
      const certPem = readFileSync(p("admin.crt"), "utf8");
      const keyPem = readFileSync(p("admin.key"), "utf8");
      const cert = pki.certificateFromPem(certPem);
      createSecureContext({ cert: certPem, key: keyPem });
      const monthLeft = cert.validity.notAfter.getTime() - nowMs > 30 * 24 * 3600_000;
      if (monthLeft && pki.certificateFromPem(ca.certPem).verify(cert)) return { certPem, keyPem };
    } catch {
      // Unreadable, mismatched or of another CA: issue a new one below.
    }
  }
  const pair = generateClientCert(ca, ADMIN_CERT_USER, [...ADMIN_CERT_GROUPS]);
  writePair(p("admin.crt"), p("admin.key"), pair);
  return pair;
}
