/**
 * The NATS cluster's own state, asked over the bus. The node controller alone holds the system
 * account; servers, `flotilla status` and `flotilla server remove` ask it here (subjects
 * `….cluster.jetstream` and `….cluster.peers.remove`, which only the admin and store users may
 * publish on).
 *
 * @example
 *   const r = await askJetStream(nc, "default");
 *   if (r.ok) console.log(metaView(r.value).leader);
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { Reply } from "./errors.ts";
import { ErrorCode, FlotillaError } from "./errors.ts";
import { request } from "./request.ts";
import { subjects } from "./subjects.ts";

export interface MetaPeer {
  name: string;
  current: boolean;
  offline: boolean;
}

/** One server's JetStream report: the meta leader it sees and the meta group's peers. */
export interface ServerJetStream {
  server: string;
  metaLeader?: string;
  clusterSize?: number;
  peers: MetaPeer[];
}

export interface JetStreamQuery {
  /** How long to gather the servers' reports (50–2,000 ms). */
  waitMs: number;
}

export interface PeerRemoveRequest {
  /** The lost server's name (its NATS `server_name`). */
  server: string;
}

const isRec = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const invalid = (field: string, message: string) =>
  new FlotillaError(ErrorCode.Invalid, message, { details: { causes: [{ field, reason: "FieldValueInvalid", message }] } });

export function decodeJetStreamQuery(raw: unknown): JetStreamQuery {
  if (raw !== undefined && raw !== null && !isRec(raw)) throw invalid("", "a JetStream query is an object");
  const w = isRec(raw) ? raw.waitMs : undefined;
  if (w === undefined) return { waitMs: 400 };
  if (typeof w !== "number" || !Number.isFinite(w) || w < 50 || w > 2000) throw invalid("waitMs", "waitMs must be a number of milliseconds from 50 to 2000");
  return { waitMs: Math.round(w) };
}

/**
 * Server names as Flotilla gives them to nats-server: letters, digits, `-`, `_` and `.` (a server
 * restarted under a new JetStream identity is `<name>.<n>`: runtime/cluster/nats-identity.ts), no
 * spaces or wildcards, at most 128 characters.
 */
export function decodePeerRemove(raw: unknown): PeerRemoveRequest {
  if (!isRec(raw)) throw invalid("", "a peer remove request is an object with `server`");
  const s = raw.server;
  if (typeof s !== "string" || s.length === 0 || s.length > 128 || !/^[A-Za-z0-9_.-]+$/.test(s) || /^\.|\.$|\.\./.test(s)) throw invalid("server", "server must be a server name (letters, digits, -, _ and inner dots)");
  return { server: s };
}

export function askJetStream(nc: NatsConnection, cluster: string, waitMs = 400): Promise<Reply<ServerJetStream[]>> {
  return request<ServerJetStream[]>(nc, subjects(cluster).clusterJetStream(), { waitMs }, waitMs + 5000);
}

export function askPeerRemove(nc: NatsConnection, cluster: string, server: string): Promise<Reply<{ removed: string }>> {
  return request<{ removed: string }>(nc, subjects(cluster).clusterPeerRemove(), { server }, 10_000);
}
