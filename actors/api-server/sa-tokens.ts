/**
 * ServiceAccount tokens: JWTs (RS256, node:crypto) signed with the cluster CA's key, with
 * Kubernetes' claims — iss, sub `system:serviceaccount:<ns>:<name>`, aud, exp, nbf, iat, jti and
 * `kubernetes.io: { namespace, serviceaccount: {name, uid}, pod?: {name, uid} }`. Pure apart from
 * the key objects passed in; the clock is a parameter.
 *
 * @example
 *   const jwt = signToken(caKey, claimsFor({ namespace: "ci", name: "builder", uid }, { nowSec, expirationSeconds: 600, audiences: [ISSUER] }));
 *   verifyToken(caCert, jwt, nowSec) // → the claims, or undefined (bad signature, expired, other issuer)
 */
import type { KeyObject } from "node:crypto";
import { createHash, randomUUID, sign, verify } from "node:crypto";

export const ISSUER = "https://kubernetes.default.svc.cluster.local";

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  "kubernetes.io": {
    namespace: string;
    serviceaccount: { name: string; uid: string };
    pod?: { name: string; uid: string };
  };
}

const b64 = (v: string | Buffer) => Buffer.from(v).toString("base64url");

export function keyId(publicKey: KeyObject): string {
  return createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest("base64url");
}

export function claimsFor(
  sa: { namespace: string; name: string; uid: string },
  o: { nowSec: number; expirationSeconds: number; audiences: string[]; pod?: { name: string; uid: string }; jti?: string },
): TokenClaims {
  return {
    iss: ISSUER,
    sub: `system:serviceaccount:${sa.namespace}:${sa.name}`,
    aud: o.audiences,
    exp: o.nowSec + o.expirationSeconds,
    nbf: o.nowSec,
    iat: o.nowSec,
    jti: o.jti ?? randomUUID(),
    "kubernetes.io": { namespace: sa.namespace, serviceaccount: { name: sa.name, uid: sa.uid }, ...(o.pod ? { pod: o.pod } : {}) },
  };
}

export function signToken(privateKey: KeyObject, publicKey: KeyObject, claims: TokenClaims): string {
  const head = `${b64(JSON.stringify({ alg: "RS256", kid: keyId(publicKey) }))}.${b64(JSON.stringify(claims))}`;
  return `${head}.${b64(sign("sha256", Buffer.from(head), privateKey))}`;
}

/** Whether a bearer token has a JWT's shape (then it is never looked up in the token file). */
export const looksLikeJwt = (token: string) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token);

/** The claims of a token this cluster signed that is valid at `nowSec` for `audience`; otherwise undefined. */
export function verifyToken(publicKey: KeyObject, token: string, nowSec: number, audience = ISSUER): TokenClaims | undefined {
  if (!looksLikeJwt(token)) return undefined;
  const [h, p, s] = token.split(".") as [string, string, string];
  try {
    const header = JSON.parse(Buffer.from(h, "base64url").toString("utf8")) as { alg?: string };
    if (header.alg !== "RS256") return undefined;
    if (!verify("sha256", Buffer.from(`${h}.${p}`), publicKey, Buffer.from(s, "base64url"))) return undefined;
    const c = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as TokenClaims;
    if (c.iss !== ISSUER || !Array.isArray(c.aud) || !c.aud.includes(audience)) return undefined;
    if (typeof c.exp !== "number" || c.exp <= nowSec) return undefined;
    if (typeof c.nbf === "number" && c.nbf > nowSec + 60) return undefined;
    const k = c["kubernetes.io"];
    if (!k || typeof k.namespace !== "string" || typeof k.serviceaccount?.name !== "string") return undefined;
    return c;
  } catch {
    return undefined;
  }
}
