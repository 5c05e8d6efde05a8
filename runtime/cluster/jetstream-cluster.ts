/**
 * What the NATS cluster says about itself: every server's JetStream report (meta leader, meta
 * peers) and removing a lost server from the JetStream meta group, over a system-account
 * connection, which only the node controller holds (bus/cluster-protocol.ts asks it); each
 * stream's leader and replicas, and a server's own report from its local monitoring port.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { JetStreamManager } from "@nats-io/jetstream";
import { createInbox } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import type { ServerJetStream } from "../../bus/cluster-protocol.ts";
import { subjects } from "../../bus/subjects.ts";

export type { MetaPeer, ServerJetStream } from "../../bus/cluster-protocol.ts";

export interface StreamPlacement {
  stream: string;
  replicas: number;
  leader?: string;
  /** Followers with whether they are current. */
  followers: { name: string; current: boolean; offline: boolean; lag?: number }[];
  messages: number;
}

interface JszReply {
  server?: { name?: string };
  data?: { meta_cluster?: { leader?: string; cluster_size?: number; replicas?: { name: string; current?: boolean; offline?: boolean }[] } };
}

/** Asks every reachable server for its JetStream report (system account) and hands each reply to `each`. */
async function scatterJsz(sys: NatsConnection, options: Record<string, unknown>, waitMs: number, each: (reply: unknown) => void): Promise<void> {
  const inbox = createInbox();
  const sub = sys.subscribe(inbox, {
    callback: (_e, m) => {
      try {
        each(JSON.parse(new TextDecoder().decode(m.data)));
      } catch {
        // an unreadable report counts as none
      }
    },
  });
  sys.publish(subjects().sysJsz(), new TextEncoder().encode(JSON.stringify(options)), { reply: inbox });
  await new Promise((r) => setTimeout(r, waitMs));
  sub.unsubscribe();
}

function reportOf(server: string | undefined, meta: NonNullable<JszReply["data"]>["meta_cluster"]): ServerJetStream {
  return {
    server: server ?? "?",
    metaLeader: meta?.leader,
    clusterSize: meta?.cluster_size,
    peers: (meta?.replicas ?? []).map((p) => ({ name: p.name, current: p.current === true, offline: p.offline === true })),
  };
}

/** Scatter-gather: each reachable server's JetStream view (system account connection). */
export async function jetstreamReports(sys: NatsConnection, waitMs = 500): Promise<ServerJetStream[]> {
  const out: ServerJetStream[] = [];
  await scatterJsz(sys, {}, waitMs, (reply) => {
    const r = reply as JszReply;
    out.push(reportOf(r.server?.name, r.data?.meta_cluster));
  });
  return out.sort((a, b) => a.server.localeCompare(b.server));
}

/**
 * One server's own JetStream report, from its HTTP monitoring port (which listens on 127.0.0.1
 * only): what a server process needs to count the meta group's peers without the system account.
 */
export async function localJetStreamReport(monitorUrl: string, server: string): Promise<ServerJetStream> {
  const res = await fetch(`${monitorUrl}/jsz`, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`${monitorUrl}/jsz answered ${res.status}`);
  const body = (await res.json()) as { meta_cluster?: NonNullable<JszReply["data"]>["meta_cluster"] & { name?: string } };
  return reportOf(server, body.meta_cluster);
}

/** The meta leader as most servers report it, and every known meta peer (leader included). */
export function metaView(reports: ServerJetStream[]): { leader?: string; peers: string[] } {
  const votes = new Map<string, number>();
  const peers = new Set<string>();
  for (const r of reports) {
    if (r.metaLeader) {
      votes.set(r.metaLeader, (votes.get(r.metaLeader) ?? 0) + 1);
      peers.add(r.metaLeader);
    }
    for (const p of r.peers) peers.add(p.name);
  }
  const leader = [...votes].sort((a, b) => b[1] - a[1])[0]?.[0];
  return { leader, peers: [...peers].sort() };
}

/** Leader and replicas of each named stream (any account connection that can use JetStream). */
export async function streamPlacements(nc: NatsConnection, streams: string[]): Promise<StreamPlacement[]> {
  const jsm = await jetstreamManager(nc, { timeout: 3000 });
  const out: StreamPlacement[] = [];
  for (const stream of streams) {
    const info = await jsm.streams.info(stream).catch(() => undefined);
    if (!info) continue;
    out.push({
      stream,
      replicas: info.config.num_replicas,
      leader: info.cluster?.leader,
      followers: (info.cluster?.replicas ?? []).map((r) => ({ name: r.name, current: r.current, offline: r.offline === true, lag: r.lag })),
      messages: info.state.messages,
    });
  }
  return out;
}

/** The streams of every bucket of the cluster (the replication check raises them; a rebuild waits for them). */
export async function clusterStreamNames(jsm: JetStreamManager, cluster: string): Promise<string[]> {
  const prefix = subjects(cluster).kvStreamsPrefix();
  const names: string[] = [];
  for await (const n of jsm.streams.names()) if (n.startsWith(prefix)) names.push(n);
  return names;
}

/** Removes a server from the JetStream meta group (its stream replicas are placed elsewhere). */
export async function removePeer(sys: NatsConnection, serverName: string): Promise<void> {
  const m = await sys.request(subjects().jsPeerRemove(), new TextEncoder().encode(JSON.stringify({ peer: serverName })), { timeout: 5000 });
  const r = JSON.parse(new TextDecoder().decode(m.data)) as { success?: boolean; error?: { description?: string } };
  if (!r.success) throw new Error(`peer remove of ${serverName} failed: ${r.error?.description ?? "no reason given"}`);
}

/** One server's own copy of a stream, as that server stores it (not as the leader reports it). */
export interface LocalStreamState {
  server: string;
  stream: string;
  messages: number;
  firstSeq: number;
  lastSeq: number;
}

/** A JetStream report's account and stream details (`/jsz?accounts=true&streams=true`). */
interface JszStreamDetails {
  account_details?: { stream_detail?: { name: string; state?: { messages?: number; first_seq?: number; last_seq?: number } }[] }[];
}

interface JszStreamsReply {
  server?: { name?: string };
  data?: JszStreamDetails;
}

function copiesIn(server: string, details: JszStreamDetails | undefined): LocalStreamState[] {
  return (details?.account_details ?? []).flatMap((a) =>
    (a.stream_detail ?? []).map((st) => ({ server, stream: st.name, messages: st.state?.messages ?? 0, firstSeq: st.state?.first_seq ?? 0, lastSeq: st.state?.last_seq ?? 0 })),
  );
}

/**
 * Scatter-gather over the system account: every reachable server's local copy of each stream. The
 * copies of a stream must agree once writes stop; a copy that differs has diverged.
 */
export async function localStreamStates(sys: NatsConnection, waitMs = 500): Promise<LocalStreamState[]> {
  const out: LocalStreamState[] = [];
  await scatterJsz(sys, { accounts: true, streams: true }, waitMs, (reply) => {
    const r = reply as JszStreamsReply;
    out.push(...copiesIn(r.server?.name ?? "?", r.data));
  });
  return out.sort((a, b) => a.stream.localeCompare(b.stream) || a.server.localeCompare(b.server));
}

/** One server's own copy of each stream, from its HTTP monitoring port (127.0.0.1 only). */
export async function localStreamCopies(monitorUrl: string, server: string): Promise<LocalStreamState[]> {
  const res = await fetch(`${monitorUrl}/jsz?accounts=true&streams=true`, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`${monitorUrl}/jsz answered ${res.status}`);
  return copiesIn(server, (await res.json()) as JszStreamDetails);
}
