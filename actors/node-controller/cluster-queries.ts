/**
 * The node controller's answers about the NATS cluster itself. It alone holds the system account,
 * so the servers, `flotilla status` and `flotilla server remove` ask it (bus/cluster-protocol.ts):
 * every server's JetStream report, and removing a lost server from the JetStream meta group.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { ActorContext } from "../../runtime/actor.ts";
import type { ServerJetStream } from "../../bus/cluster-protocol.ts";
import { serve } from "../../runtime/mailbox.ts";
import { decodeJetStreamQuery, decodePeerRemove } from "../../bus/cluster-protocol.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { jetstreamReports, metaView, removePeer } from "../../runtime/cluster/jetstream-cluster.ts";

export function serveClusterQueries(ctx: ActorContext, sys: NatsConnection): { stop(): Promise<void> }[] {
  const jetstream = serve(ctx, ctx.subjects.clusterJetStream(), {
    concurrency: 4,
    decode: decodeJetStreamQuery,
    handle: async (q): Promise<ServerJetStream[]> => jetstreamReports(sys, q.waitMs),
  });
  const peerRemove = serve(ctx, ctx.subjects.clusterPeerRemove(), {
    decode: decodePeerRemove,
    handle: async (r) => {
      const meta = metaView(await jetstreamReports(sys, 300));
      if (!meta.peers.includes(r.server)) throw new FlotillaError(ErrorCode.NotFound, `server ${r.server} is not in the JetStream meta group (peers: ${meta.peers.join(", ") || "none"})`);
      try {
        await removePeer(sys, r.server);
      } catch (e) {
        throw new FlotillaError(ErrorCode.Unavailable, (e as Error).message);
      }
      ctx.log.info("server removed from the JetStream meta group", { server: r.server });
      return { removed: r.server };
    },
  });
  return [jetstream, peerRemove];
}
