/**
 * A server's NATS certificate (`<dir>/pki/route.crt`, `route.key`): issued by the cluster CA,
 * naming the server's address. nats-server presents it on client (4222), leaf (7422) and route
 * (6222) connections; on routes it is also the client certificate (nats-server verifies the
 * server that connects), so it allows client as well as server authentication. The file holds the
 * certificate followed by the CA's, so a worker holding only a token can read the CA from the
 * handshake and check it against the token's hash (ca-fetch.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import forge from "node-forge";
import { writeFileAtomic } from "../atomic-file.ts";
import { signedByCa } from "../../actors/api-server/certs.ts";

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
      const chained = readFileSync(files.certFile, "utf8").includes(caPem.trim());
      if (ca.verify(cur) && san?.altNames?.some((a) => a.ip === address) && chained) return files;
    } catch {
      // issued again below
    }
  }
  const leaf = signedByCa(
    { certPem: caPem, keyPem: readFileSync(p("ca.key"), "utf8") },
    { subject: [{ name: "commonName", value: `flotilla-route-${address}` }], validYears: 2, extKeyUsage: { serverAuth: true, clientAuth: true }, sans: { dns: [], ips: [address] } },
  );
  writeFileAtomic(files.keyFile, leaf.keyPem, { mode: 0o600 });
  writeFileAtomic(files.certFile, leaf.certPem.trim() + "\n" + caPem.trim() + "\n");
  return files;
}
