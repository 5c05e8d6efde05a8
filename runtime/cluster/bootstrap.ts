/**
 * The bootstrap data every server needs to be the same api-server (the cluster CA, its key, the
 * token file and the Secrets' encryption configuration), sealed with a key derived from the join
 * token (AES-256-GCM) so it can be kept in the store, as k3s does: the first server puts it there,
 * joining servers fetch and open it. The encryption configuration then follows edits made on any
 * server (`syncEncryptionConfig`), so a key rotation reaches every server.
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { derive } from "./token.ts";
import { writeFileAtomic } from "../atomic-file.ts";

export interface BootstrapData {
  caCert: string;
  caKey: string;
  tokensCsv: string;
  /** `encryption-config.yaml` (absent in data sealed before Secrets were encrypted). */
  encryptionConfig?: string;
}

const ENCRYPTION_CONFIG = "encryption-config.yaml";

const keyOf = (token: string) => scryptSync(derive(token, "bootstrap"), "flotilla-bootstrap", 32);

export function seal(token: string, data: BootstrapData): string {
  const iv = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", keyOf(token), iv);
  const body = Buffer.concat([c.update(JSON.stringify(data), "utf8"), c.final()]);
  return JSON.stringify({ v: 1, iv: iv.toString("base64"), tag: c.getAuthTag().toString("base64"), body: body.toString("base64") });
}

/** Opens sealed bootstrap data; throws when the token is not the one it was sealed with. */
export function open(token: string, sealed: string): BootstrapData {
  const s = JSON.parse(sealed) as { iv: string; tag: string; body: string };
  const d = createDecipheriv("aes-256-gcm", keyOf(token), Buffer.from(s.iv, "base64"));
  d.setAuthTag(Buffer.from(s.tag, "base64"));
  try {
    return JSON.parse(Buffer.concat([d.update(Buffer.from(s.body, "base64")), d.final()]).toString("utf8")) as BootstrapData;
  } catch {
    throw new Error("the bootstrap data in the store cannot be opened with this token: is it this cluster's join token?");
  }
}

/** The bootstrap data in a data dir (`pki/ca.crt`, `pki/ca.key`, `tokens.csv`, `encryption-config.yaml`), if complete. */
export function readLocal(dataDir: string): BootstrapData | undefined {
  const f = (p: string) => join(dataDir, p);
  if (!existsSync(f("pki/ca.crt")) || !existsSync(f("pki/ca.key")) || !existsSync(f("tokens.csv"))) return undefined;
  const encryptionConfig = existsSync(f(ENCRYPTION_CONFIG)) ? readFileSync(f(ENCRYPTION_CONFIG), "utf8") : undefined;
  return { caCert: readFileSync(f("pki/ca.crt"), "utf8"), caKey: readFileSync(f("pki/ca.key"), "utf8"), tokensCsv: readFileSync(f("tokens.csv"), "utf8"), ...(encryptionConfig ? { encryptionConfig } : {}) };
}

/** Writes bootstrap data into a data dir (private files 0600, dirs 0700). */
export function writeLocal(dataDir: string, b: BootstrapData): void {
  mkdirSync(join(dataDir, "pki"), { recursive: true, mode: 0o700 });
  const cur = readLocal(dataDir);
  // Data sealed before encryption keeps this server's own configuration (it is stored back).
  if (b.encryptionConfig !== undefined && cur?.encryptionConfig !== b.encryptionConfig) writeFileAtomic(join(dataDir, ENCRYPTION_CONFIG), b.encryptionConfig, { mode: 0o600 });
  if (cur && cur.caCert === b.caCert && cur.caKey === b.caKey && cur.tokensCsv === b.tokensCsv) return;
  writeFileSync(join(dataDir, "pki/ca.key"), b.caKey, { mode: 0o600 });
  writeFileSync(join(dataDir, "pki/ca.crt"), b.caCert);
  writeFileSync(join(dataDir, "tokens.csv"), b.tokensCsv, { mode: 0o600 });
}
