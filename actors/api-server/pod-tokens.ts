/**
 * Serves kubelets' requests for their pods' ServiceAccount tokens (`…tokens.node.<node>`), as
 * kube-apiserver serves a kubelet's TokenRequest with a pod `boundObjectRef` under the Node
 * authorizer and NodeRestriction: the pod must exist with that uid, be bound to the asking node
 * and run as that ServiceAccount. The token is bound to the pod, so deleting the pod ends it.
 *
 * @example
 *   const sub = servePodTokens({ nc, subjects, store, keys, now, log });
 *   // later: sub.unsubscribe();
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { StoreClient } from "../../bus/store-client.ts";
import type { Subjects } from "../../bus/subjects.ts";
import type { Logger } from "../../runtime/logger.ts";
import type { KubeObject, Pod, ServiceAccount } from "../../bus/resources.ts";
import type { PodToken, PodTokenRequest } from "../../bus/pod-token-protocol.ts";
import type { SigningKeys } from "./token-request.ts";
import type { Reply } from "../../bus/errors.ts";
import { decode, encode } from "../../bus/codec.ts";
import { decodeToken } from "../../bus/subjects.ts";
import { ErrorCode, FlotillaError, ok, toWireError } from "../../bus/errors.ts";
import { ISSUER, claimsFor, signToken } from "./sa-tokens.ts";

/** The shortest and longest lifetimes a kubelet may ask for (Kubernetes: 10 min .. 2^32 s). */
const MIN_SECONDS = 600;
const MAX_SECONDS = 2 ** 32;

function validRequest(v: unknown): PodTokenRequest {
  const r = v as Partial<PodTokenRequest> | null;
  const strings = r && [r.namespace, r.pod, r.podUid, r.serviceAccount].every((s) => typeof s === "string" && s !== "");
  if (!r || r.type !== "pod.token" || !strings || typeof r.expirationSeconds !== "number" || !Number.isInteger(r.expirationSeconds)) {
    throw new FlotillaError(ErrorCode.Invalid, "a pod token request needs namespace, pod, podUid, serviceAccount and an integer expirationSeconds");
  }
  if (r.audiences !== undefined && !(Array.isArray(r.audiences) && r.audiences.every((a) => typeof a === "string"))) throw new FlotillaError(ErrorCode.Invalid, "audiences must be strings");
  return r as PodTokenRequest;
}

/** Issues the token when the node may have it; throws Forbidden / NotFound / Invalid otherwise. */
export async function issuePodToken(deps: { store: StoreClient; keys: SigningKeys; nowSec: number }, node: string, r: PodTokenRequest): Promise<PodToken> {
  const pod = await deps.store.get<Pod>("pods", r.namespace, r.pod);
  const denied = (why: string) => new FlotillaError(ErrorCode.Forbidden, `serviceaccounts "${r.serviceAccount}" is forbidden: User "system:node:${node}" cannot create resource "serviceaccounts/token" in API group "" in the namespace "${r.namespace}": ${why}`);
  if (pod.metadata.uid !== r.podUid) throw denied(`pod ${r.namespace}/${r.pod} has another uid`);
  if (pod.spec.nodeName !== node) throw denied(`pod ${r.namespace}/${r.pod} is not bound to this node`);
  if ((pod.spec.serviceAccountName ?? "default") !== r.serviceAccount) throw denied(`pod ${r.namespace}/${r.pod} does not run as this ServiceAccount`);
  if (pod.metadata.deletionTimestamp) throw denied(`pod ${r.namespace}/${r.pod} is being deleted`);
  const sa = await deps.store.get<ServiceAccount & KubeObject>("serviceaccounts", r.namespace, r.serviceAccount);
  const seconds = Math.min(MAX_SECONDS, Math.max(MIN_SECONDS, r.expirationSeconds));
  const claims = claimsFor(
    { namespace: r.namespace, name: r.serviceAccount, uid: sa.metadata.uid! },
    { nowSec: deps.nowSec, expirationSeconds: seconds, audiences: r.audiences?.length ? r.audiences : [ISSUER], pod: { name: r.pod, uid: r.podUid } },
  );
  return { token: signToken(deps.keys.privateKey, deps.keys.publicKey, claims), expiresAt: claims.exp, issuedAt: claims.iat };
}

export function servePodTokens(o: { nc: NatsConnection; subjects: Subjects; store: StoreClient; keys: SigningKeys; now: () => number; log: Logger }): Subscription {
  const prefix = o.subjects.podTokenPrefix();
  return o.nc.subscribe(o.subjects.podTokenAnyNode(), {
    queue: "api-server",
    callback: (_e, m) => {
      void (async (): Promise<Reply<PodToken>> => {
        try {
          const node = decodeToken(m.subject.slice(prefix.length));
          const r = validRequest(decode(m.data));
          const t = await issuePodToken({ store: o.store, keys: o.keys, nowSec: Math.floor(o.now() / 1000) }, node, r);
          // The token itself is never logged.
          o.log.debug("pod token issued", { node, namespace: r.namespace, pod: r.pod, serviceAccount: r.serviceAccount });
          return ok(t);
        } catch (e) {
          return { ok: false, error: toWireError(e) };
        }
      })().then((reply) => {
        if (m.reply) m.respond(encode(reply));
      });
    },
  });
}
