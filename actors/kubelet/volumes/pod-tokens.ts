/**
 * The kubelet's ServiceAccount token manager (Kubernetes' pkg/kubelet/token): one token per pod,
 * ServiceAccount, audience and lifetime, asked for from an api-server over the bus
 * (`…tokens.node.<node>`), kept while it is fresh and asked for again once 80% of its lifetime has
 * passed, so the projected `token` file is replaced before the old one expires (the volume is
 * rewritten at every pod sync). A cluster with no api-server on the bus has no tokens to give:
 * then `get` answers `undefined` and the pod starts without the file.
 *
 * @example
 *   const tokens = new PodTokens({ nc, subjects, nodeName, now, log });
 *   const jwt = await tokens.get(pod, { expirationSeconds: 3607 });
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { Pod } from "../../../bus/resources.ts";
import type { Subjects } from "../../../bus/subjects.ts";
import type { Logger } from "../../../runtime/logger.ts";
import type { PodToken, PodTokenRequest } from "../../../bus/pod-token-protocol.ts";
import type { Reply } from "../../../bus/errors.ts";
import { decode, encode } from "../../../bus/codec.ts";
import { ConfigError } from "../env.ts";
import { ErrorCode } from "../../../bus/errors.ts";

/** A fresh token is replaced once this share of its lifetime has passed (Kubernetes: 80%). */
export const REFRESH_AT = 0.8;

/** Whether a token issued at `issuedAt` and expiring at `expiresAt` (seconds) should be replaced at `nowSec`. */
export function needsRefresh(t: Pick<PodToken, "issuedAt" | "expiresAt">, nowSec: number): boolean {
  return nowSec >= t.issuedAt + (t.expiresAt - t.issuedAt) * REFRESH_AT;
}

export interface TokenSource {
  expirationSeconds?: number;
  audience?: string;
}

export class PodTokens {
  private readonly cache = new Map<string, PodToken>();
  constructor(private readonly o: { nc: NatsConnection; subjects: Subjects; nodeName: string; now: () => number; log: Logger; timeoutMs?: number }) {}

  /** The token for a pod's projected source; undefined when no api-server serves tokens. Throws ConfigError when refused. */
  async get(pod: Pod, src: TokenSource): Promise<string | undefined> {
    const uid = pod.metadata.uid!;
    const sa = pod.spec.serviceAccountName ?? "default";
    const seconds = src.expirationSeconds ?? 3600;
    const key = `${uid}/${sa}/${src.audience ?? ""}/${seconds}`;
    const nowSec = Math.floor(this.o.now() / 1000);
    const had = this.cache.get(key);
    if (had && !needsRefresh(had, nowSec)) return had.token;
    const req: PodTokenRequest = {
      type: "pod.token",
      namespace: pod.metadata.namespace ?? "default",
      pod: pod.metadata.name!,
      podUid: uid,
      serviceAccount: sa,
      expirationSeconds: seconds,
      ...(src.audience ? { audiences: [src.audience] } : {}),
    };
    let reply: Reply<PodToken>;
    try {
      const m = await this.o.nc.request(this.o.subjects.podTokenForNode(this.o.nodeName), encode(req), { timeout: this.o.timeoutMs ?? 5000 });
      reply = decode<Reply<PodToken>>(m.data);
    } catch (e) {
      const msg = (e as Error).message;
      // Keep serving a token that has not expired yet; say so when there is none to give.
      if (had && had.expiresAt > nowSec) return had.token;
      if (/no responders|503/i.test(msg)) {
        this.o.log.debug("no api-server serves pod tokens: the pod gets none", { pod: req.pod, namespace: req.namespace });
        return undefined;
      }
      throw new ConfigError(`failed to fetch token: ${msg}`);
    }
    if (!reply.ok) {
      if (had && had.expiresAt > nowSec) return had.token;
      // No such ServiceAccount (yet: its controller makes `default` shortly after the namespace):
      // the pod starts without a token, and the next sync asks again.
      if (reply.error.code === ErrorCode.NotFound) {
        this.o.log.debug("no token for the pod yet", { pod: req.pod, namespace: req.namespace, error: reply.error.message });
        return undefined;
      }
      throw new ConfigError(`failed to fetch token: ${reply.error.message}`);
    }
    this.cache.set(key, reply.value);
    return reply.value.token;
  }

  /** Drops a pod's tokens (its sandbox is gone). */
  forget(uid: string): void {
    for (const k of [...this.cache.keys()]) if (k.startsWith(`${uid}/`)) this.cache.delete(k);
  }
}
