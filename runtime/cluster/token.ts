/**
 * The join token: one secret a cluster is born with. Servers and workers present it to join; every
 * shared password (routes, the NATS users) and the key that encrypts the bootstrap data are
 * derived from it, so no other secret has to travel.
 *
 * Format: `F1.<secret>` (the secret is 32 random bytes, base64url).
 *
 * @example
 *   const t = newJoinToken();
 *   derive(t, "route") // the route password every server writes into its cluster block
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

const PREFIX = "F1.";

export function newJoinToken(): string {
  return PREFIX + randomBytes(32).toString("base64url");
}

export function isJoinToken(t: string): boolean {
  return t.startsWith(PREFIX) && t.length > PREFIX.length + 20;
}

/** A secret derived from the token for one purpose ("route", "user:server", "bootstrap", …). */
export function derive(token: string, purpose: string): string {
  return createHmac("sha256", token.slice(PREFIX.length)).update(purpose).digest("base64url");
}

/** Identifies a cluster without revealing its token (shown by status, compared on join). */
export function tokenId(token: string): string {
  return createHash("sha256").update(token).digest("hex").slice(0, 12);
}

/** Reads `<dir>/token`, creating it (0600) with a fresh token when absent. */
export function ensureTokenFile(path: string): string {
  if (existsSync(path)) {
    const t = readFileSync(path, "utf8").trim();
    if (!isJoinToken(t)) throw new Error(`${path} does not hold a Flotilla join token`);
    return t;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const t = newJoinToken();
  writeFileSync(path, t + "\n", { mode: 0o600 });
  return t;
}

export function writeTokenFile(path: string, token: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, token + "\n", { mode: 0o600 });
}
