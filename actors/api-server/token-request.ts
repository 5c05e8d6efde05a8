/**
 * ServiceAccount tokens at the api-server:
 * - `POST …/serviceaccounts/<name>/token` (TokenRequest, `kubectl create token`): a JWT for the
 *   ServiceAccount, optionally bound to a pod, valid for `expirationSeconds` (default 1 h, at
 *   least 10 min).
 * - the bearer-token authenticator: a JWT is accepted while its signature, issuer, audience and
 *   expiry hold and its ServiceAccount (and bound pod) still exist with the same uid, read from
 *   this server's watch caches. The user is `system:serviceaccount:<ns>:<name>` in the groups
 *   `system:serviceaccounts` and `system:serviceaccounts:<ns>`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { KeyObject } from "node:crypto";
import type { StoreClient } from "../../bus/store-client.ts";
import type { KubeObject, ServiceAccount } from "../../bus/resources.ts";
import type { ResourceRoute } from "./routes.ts";
import type { User } from "./auth.ts";
import type { WatchCache } from "./watch-cache.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { readBody, parseBody, sendJson } from "./http.ts";
import { ISSUER, claimsFor, signToken, verifyToken } from "./sa-tokens.ts";
import { serviceAccountGroups } from "./rbac/authorizer.ts";

export interface SigningKeys {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

const MIN_SECONDS = 600;
const MAX_SECONDS = 2 ** 32;
const DEFAULT_SECONDS = 3600;

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Rec) : {});

function invalid(name: string, field: string, value: unknown, detail: string): FlotillaError {
  const message = `Invalid value: ${JSON.stringify(value)}: ${detail}`;
  return new FlotillaError(ErrorCode.Invalid, `TokenRequest.authentication.k8s.io "${name}" is invalid: ${field}: ${message}`, {
    details: { name, kind: "TokenRequest", group: "authentication.k8s.io", causes: [{ field, reason: "FieldValueInvalid", message }] },
  });
}

export async function handleTokenRequest(
  deps: { store: StoreClient; now: () => number; keys: SigningKeys },
  req: IncomingMessage,
  res: ServerResponse,
  route: ResourceRoute,
): Promise<void> {
  const body = rec(parseBody(await readBody(req), req.headers["content-type"]));
  const spec = rec(body.spec);
  const namespace = route.namespace!;
  const name = route.name!;
  const seconds = spec.expirationSeconds ?? DEFAULT_SECONDS;
  if (typeof seconds !== "number" || !Number.isInteger(seconds)) throw invalid(name, "spec.expirationSeconds", seconds, "must be an integer");
  if (seconds < MIN_SECONDS) throw invalid(name, "spec.expirationSeconds", seconds, "may not specify a duration less than 10 minutes");
  if (seconds > MAX_SECONDS) throw invalid(name, "spec.expirationSeconds", seconds, "may not specify a duration larger than 2^32 seconds");
  const audiences = Array.isArray(spec.audiences) && spec.audiences.length ? spec.audiences.map(String) : [ISSUER];
  const sa = await deps.store.get<ServiceAccount>("serviceaccounts", namespace, name);
  let pod: { name: string; uid: string } | undefined;
  const ref = spec.boundObjectRef === undefined || spec.boundObjectRef === null ? undefined : rec(spec.boundObjectRef);
  if (ref) {
    if (ref.kind !== "Pod") throw invalid(name, "spec.boundObjectRef.kind", ref.kind ?? "", 'supported values: "Pod"');
    const p = await deps.store.get<KubeObject>("pods", namespace, String(ref.name ?? ""));
    if (ref.uid && ref.uid !== p.metadata.uid) {
      throw new FlotillaError(ErrorCode.Conflict, `the UID in the bound object reference (${String(ref.uid)}) does not match the UID in record. The object might have been deleted and then recreated`);
    }
    pod = { name: p.metadata.name!, uid: p.metadata.uid! };
  }
  const nowSec = Math.floor(deps.now() / 1000);
  const claims = claimsFor({ namespace, name, uid: sa.metadata.uid! }, { nowSec, expirationSeconds: seconds, audiences, ...(pod ? { pod } : {}) });
  const token = signToken(deps.keys.privateKey, deps.keys.publicKey, claims);
  sendJson(res, 201, {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    metadata: { name, namespace, creationTimestamp: null },
    spec: { audiences, expirationSeconds: seconds, boundObjectRef: ref ? { kind: "Pod", apiVersion: "v1", name: pod!.name, uid: pod!.uid } : null },
    status: { token, expirationTimestamp: new Date(claims.exp * 1000).toISOString().replace(/\.\d{3}Z$/, "Z") },
  });
}

/** Bearer token → ServiceAccount user, or undefined when it is not (or no longer) a valid token of this cluster. */
export function serviceAccountAuthenticator(keys: SigningKeys, cacheFor: (resource: string) => WatchCache | undefined, now: () => number): (token: string) => User | undefined {
  return (token) => {
    const c = verifyToken(keys.publicKey, token, Math.floor(now() / 1000));
    if (!c) return undefined;
    const k = c["kubernetes.io"];
    const sa = cacheFor("serviceaccounts")?.objects.get(`${k.namespace}/${k.serviceaccount.name}`);
    if (!sa || sa.metadata.uid !== k.serviceaccount.uid || sa.metadata.deletionTimestamp) return undefined;
    if (k.pod) {
      const pod = cacheFor("pods")?.objects.get(`${k.namespace}/${k.pod.name}`);
      if (!pod || pod.metadata.uid !== k.pod.uid || pod.metadata.deletionTimestamp) return undefined;
    }
    return { name: c.sub, uid: k.serviceaccount.uid, groups: serviceAccountGroups(k.namespace) };
  };
}
