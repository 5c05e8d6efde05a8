/**
 * The certificate the HTTPS listener shows when no Ingress TLS Secret matches the client's SNI
 * name (Traefik's "TRAEFIK DEFAULT CERT" in k3s): self-signed, made once per actor start.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import forge from "node-forge";

export const DEFAULT_CERT_CN = "FLOTILLA INGRESS DEFAULT CERT";

export function selfSignedDefaultCert(now: Date): { certPem: string; keyPem: string } {
  const k = generateKeyPairSync("rsa", { modulusLength: 2048, publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs1", format: "pem" } });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(k.publicKey);
  cert.serialNumber = `01${randomBytes(8).toString("hex")}`;
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime() + 365 * 24 * 3600_000);
  const attrs = [{ name: "commonName", value: DEFAULT_CERT_CN }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(k.privateKey), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: k.privateKey };
}
