/**
 * Joining: a new server tells the cluster its route address on `…servers.join`. A server that runs
 * alone (standalone JetStream, no routes) answers and then becomes clustered with the newcomer:
 * its objects are dumped, its NATS restarts with a route to the newcomer and the objects are
 * imported into the clustered buckets (a pause of a few seconds, once in a cluster's life).
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { subjects } from "../../bus/subjects.ts";

export interface JoinRequest {
  name: string;
  route: string;
}
export type JoinReply = { ok: true; converting: boolean } | { ok: false; error: { code: string; message: string } };

export function serveJoins(nc: NatsConnection, cluster: string, onJoin: (r: JoinRequest) => JoinReply): Subscription {
  return nc.subscribe(subjects(cluster).serversJoin(), {
    queue: "servers",
    callback: (_e, m) => {
      let reply: JoinReply;
      try {
        const r = JSON.parse(new TextDecoder().decode(m.data)) as Partial<JoinRequest>;
        if (typeof r.name !== "string" || typeof r.route !== "string" || !/^[^\s:]+:\d+$/.test(r.route)) throw new Error("name and route (host:port) are required");
        reply = onJoin({ name: r.name, route: r.route });
      } catch (e) {
        reply = { ok: false, error: { code: "Invalid", message: (e as Error).message } };
      }
      if (m.reply) m.respond(new TextEncoder().encode(JSON.stringify(reply)));
    },
  });
}

export async function requestJoin(nc: NatsConnection, cluster: string, r: JoinRequest): Promise<JoinReply> {
  const m = await nc.request(subjects(cluster).serversJoin(), new TextEncoder().encode(JSON.stringify(r)), { timeout: 5000 });
  return JSON.parse(new TextDecoder().decode(m.data)) as JoinReply;
}
