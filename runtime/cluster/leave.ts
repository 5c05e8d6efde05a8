/**
 * Taking a server out of the JetStream meta group, through the node controller (the only holder
 * of the system account): `server leave` asks once its own nats-server is gone, `server remove`
 * asks for a lost server. The node controller may be between leaders (its leader may have been
 * on the server that leaves), so an Unavailable answer is asked again for up to `withinMs`.
 */
import type { Credentials } from "./credentials.ts";
import type { Logger } from "../logger.ts";
import { connectNats } from "../host.ts";
import { askPeerRemove } from "../../bus/cluster-protocol.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";

export async function removeServerPeer(natsUrls: string[], creds: Credentials, cluster: string, server: string, withinMs = 30_000, log?: Logger): Promise<void> {
  const nc = await connectNats(natsUrls.join(","), `server-remove/${server}`, creds, { timeout: 5000, maxReconnectAttempts: 10 });
  try {
    const until = Date.now() + withinMs;
    for (;;) {
      const r = await askPeerRemove(nc, cluster, server);
      if (r.ok) return;
      const retry = r.error.code === ErrorCode.Unavailable || r.error.code === ErrorCode.Timeout;
      if (!retry || Date.now() > until) throw FlotillaError.fromWire(r.error);
      log?.debug("peer remove not answered yet", { error: r.error.message });
      await new Promise((res) => setTimeout(res, 500));
    }
  } finally {
    await nc.close().catch(() => undefined);
  }
}

/** `server leave`: this server's nats-server is stopped; the others take it out of the meta group. */
export async function leaveThrough(natsUrls: string[], creds: Credentials, cluster: string, server: string, log: Logger): Promise<void> {
  try {
    await removeServerPeer(natsUrls, creds, cluster, server, 30_000, log);
    log.info("left the cluster", { server });
  } catch (e) {
    log.warn("the others did not take this server out of the JetStream meta group; run `flotilla server remove` on a live server", { error: (e as Error).message });
  }
}
