/**
 * A server's route certificate (`<dir>/pki/route.crt`, `route.key`): issued by the cluster CA,
 * naming the server's address, for both ends of a NATS route (nats-server verifies the certificate
 * of the server that connects, so it must allow client as well as server authentication).
 */
import { existsSync, readFileSync } from "node:fs";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { join } from "node:path";
import forge from "node-forge";
import { writeFileAtomic } from "../atomic-file.ts";

const { pki } = forge;

export interface RouteTlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/** Issues the route certificate when it is missing, names another address or comes from another CA. */
export function ensureRouteCert(dir: string, address: string): RouteTlsFiles {
  const p = (f: string) => join(dir, "pki", f);
  const files = { certFile: p("route.crt"), keyFile: p("route.key"), caFile: p("ca.crt") };
  const caPem = readFileSync(files.caFile, "utf8");
  const ca = pki.certificateFromPem(caPem);
  if (existsSync(files.certFile) && existsSync(files.keyFile)) {
    try {
      const cur = pki.certificateFromPem(readFileSync(files.certFile, "utf8"));
      const san = cur.getExtension("subjectAltName") as { altNames?: { ip?: string }[] } | null;
      if (ca.verify(cur) && san?.altNames?.some((a) => a.ip === address)) return files;
    } catch {
      // issued again below
    }
  }
  const k = generateKeyPairSync("rsa", { modulusLength: 2048, publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs1", format: "pem" } });
  const cert = pki.createCertificate();
  cert.publicKey = pki.publicKeyFromPem(k.publicKey);
  cert.serialNumber = "01" + randomBytes(15).toString("hex");
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 2 * 365 * 24 * 3600 * 1000);
  cert.setSubject([{ name: "commonName", value: `flotilla-route-${address}` }]);
  cert.setIssuer(ca.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true, clientAuth: true },
    { name: "subjectAltName", altNames: [{ type: 7, ip: address }] },
  ]);
  cert.sign(pki.privateKeyFromPem(readFileSync(p("ca.key"), "utf8")), forge.md.sha256.create());
  writeFileAtomic(files.keyFile, k.privateKey, { mode: 0o600 });
  writeFileAtomic(files.certFile, pki.certificateToPem(cert));
  return files;
}
