/**
 * The join token: one secret a cluster is born with. Servers and workers present it to join; every
 * shared password (routes, the NATS users) and the key that encrypts the bootstrap data are
 * derived from it, so no other secret has to travel.
 *
 * Formats:
 * - `F1.<secret>` — the secret alone (32 random bytes, base64url): what passwords are derived from.
 * - `K10<ca-hash>::F1.<secret>` — the same secret with the SHA-256 (hex) of the cluster CA's
 *   certificate (DER) in front, as k3s' tokens carry it. This is the form servers print and keep
 *   once the CA exists: a worker or a joining server holding only this token checks the CA a
 *   server presents against the hash before it sends any password (see ca-fetch.ts).
 *
 * @example
 *   const t = newJoinToken();
 *   derive(t, "route") // the route password every server writes into its cluster block
 *   withCaHash(t, caHashOf(caPem)) // "K10…::F1.…", the token to hand out
 */
import { createHash, createHmac, randomBytes, X509Certificate } from "node:crypto";
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

const PREFIX = "F1.";
const CA_PREFIX = "K10";
const CA_SEPARATOR = "::";

export interface ParsedToken {
  /** `F1.<secret>`: what every password is derived from. */
  secret: string;
  /** SHA-256 (hex) of the cluster CA's certificate, when the token carries it. */
  caHash?: string;
}

export function newJoinToken(): string {
  return PREFIX + randomBytes(32).toString("base64url");
}

/** Splits a token in either form; undefined when it is neither. */
export function parseToken(t: string): ParsedToken | undefined {
  const raw = t.trim();
  const m = /^K10([0-9a-f]{64})::(.*)$/.exec(raw);
  const secret = m ? m[2]! : raw;
  if (!secret.startsWith(PREFIX) || secret.length <= PREFIX.length + 20 || !/^[A-Za-z0-9_-]+$/.test(secret.slice(PREFIX.length))) return undefined;
  return m ? { secret, caHash: m[1]! } : { secret };
}

export function isJoinToken(t: string): boolean {
  return parseToken(t) !== undefined;
}

/** The secret part of a token (either form). */
export function secretOf(token: string): string {
  return parseToken(token)?.secret ?? token;
}

/** The token to hand out: the CA's hash in front of the secret. */
export function withCaHash(token: string, caHash: string): string {
  return `${CA_PREFIX}${caHash}${CA_SEPARATOR}${secretOf(token)}`;
}

/** SHA-256 (hex) of a CA certificate's DER, the hash a token carries. */
export function caHashOf(caPem: string): string {
  return createHash("sha256").update(new X509Certificate(caPem).raw).digest("hex");
}

/** A secret derived from the token for one purpose ("route", "user:server", "bootstrap", …). */
export function derive(token: string, purpose: string): string {
  return createHmac("sha256", secretOf(token).slice(PREFIX.length)).update(purpose).digest("base64url");
}

/** Identifies a cluster without revealing its token (shown by status, compared on join). */
export function tokenId(token: string): string {
  return createHash("sha256").update(secretOf(token)).digest("hex").slice(0, 12);
}

/** Reads the token file (either form), creating it (0600) with a fresh token when absent. */
export function readTokenFile(path: string): ParsedToken {
  if (existsSync(path)) {
    const t = parseToken(readFileSync(path, "utf8"));
    if (!t) throw new Error(`${path} does not hold a Flotilla join token`);
    return t;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const t = newJoinToken();
  writeFileSync(path, t + "\n", { mode: 0o600 });
  return { secret: t };
}

/** Reads `<dir>/token` (either form), creating it (0600) with a fresh token when absent; returns the secret part. */
export function ensureTokenFile(path: string): string {
  return readTokenFile(path).secret;
}

export function writeTokenFile(path: string, token: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, token + "\n", { mode: 0o600 });
}
