/**
 * Taking a server out of the JetStream meta group, through the node controller (the only holder
 * of the system account): `server leave` asks once its own nats-server is gone, `server remove`
 * asks for a lost server. The node controller may be between leaders (its leader may have been
 * on the server that leaves), so an Unavailable or Timeout answer is asked again for up to `withinMs`.
 */
import type { Credentials } from "./credentials.ts";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../logger.ts";
import { connectNats } from "../host.ts";
import { askJetStream, askPeerRemove } from "../../bus/cluster-protocol.ts";
import { metaView } from "./jetstream-cluster.ts";
import { serverOfNatsName } from "./nats-identity.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { settle } from "./settle.ts";

export async function removeServerPeer(nc: NatsConnection, cluster: string, server: string, withinMs = 30_000, log?: Logger): Promise<void> {
  const retryable = (e: unknown) => e instanceof FlotillaError && (e.code === ErrorCode.Unavailable || e.code === ErrorCode.Timeout);
  await settle(
    `taking ${server} out of the JetStream meta group`,
    async () => {
      const r = await askPeerRemove(nc, cluster, server);
      if (r.ok) return;
      log?.debug("peer remove not answered yet", { error: r.error.message });
      throw FlotillaError.fromWire(r.error);
    },
    withinMs,
    retryable,
  );
}

/**
 * The JetStream identities of a server in the meta group (`server-a`, or `server-a.3` after it
 * restarted under a new one: nats-identity.ts); the name itself when the meta group lists none.
 */
export async function natsIdentitiesOf(nc: NatsConnection, cluster: string, server: string): Promise<string[]> {
  const r = await askJetStream(nc, cluster, 400);
  const mine = r.ok ? metaView(r.value).peers.filter((p) => serverOfNatsName(p) === server) : [];
  return mine.length ? mine : [server];
}

/** `server leave`: this server's nats-server is stopped; the others take it out of the meta group. */
export async function leaveThrough(natsUrls: string[], creds: Credentials, cluster: string, server: string, log: Logger): Promise<void> {
  try {
    const nc = await connectNats(natsUrls.join(","), `server-leave/${server}`, creds, { timeout: 5000, maxReconnectAttempts: 10 });
    try {
      await removeServerPeer(nc, cluster, server, 30_000, log);
    } finally {
      await nc.close().catch(() => undefined);
    }
    log.info("left the cluster", { server });
  } catch (e) {
    log.warn("the others did not take this server out of the JetStream meta group; run `flotilla server remove` on a live server", { error: (e as Error).message });
  }
}
