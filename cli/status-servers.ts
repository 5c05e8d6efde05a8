/** The servers part of `flotilla status`: each server, the JetStream meta leader, bucket placement, actor leaders. */
import type { ClusterState } from "./config.ts";
import { join } from "node:path";
import { readServerState, readPids } from "../runtime/cluster/server-config.ts";
import { ensureTokenFile } from "../runtime/cluster/token.ts";
import { metaView, streamPlacements } from "../runtime/cluster/jetstream-cluster.ts";
import { askJetStream } from "../bus/cluster-protocol.ts";
import { REPLICATED_AT } from "../runtime/cluster/server.ts";
import { connectNats, pingActors } from "../runtime/host.ts";
import { subjects } from "../bus/subjects.ts";
import { formatColumns } from "./print.ts";
import { userUrl, caFileOf } from "./server-run.ts";
import { alive } from "../runtime/cluster/processes.ts";

const say = (s: string) => process.stdout.write(s + "\n");

export interface ServerRow {
  name: string;
  apiUrl: string;
  natsUrl: string;
  pids: number[];
  up: boolean;
}

/** Each server of a `flotilla up --servers` data dir, from its files. */
export function serverRows(s: ClusterState): ServerRow[] {
  return (s.servers ?? []).map((dir) => {
    const st = readServerState(dir);
    const pids = readPids(dir);
    return { name: st?.name ?? dir.split("/").pop()!, apiUrl: st?.apiUrl ?? "?", natsUrl: st?.natsUrl ?? "?", pids, up: pids.length > 0 && pids.every(alive) };
  });
}

/** Which server a process belongs to (by the servers' pids files). */
export function serverOfPid(rows: ServerRow[], pid: number): string | undefined {
  return rows.find((r) => r.pids.includes(pid))?.name;
}

export async function printServers(dataDir: string, s: ClusterState): Promise<void> {
  const rows = serverRows(s);
  say(`  servers:     ${rows.filter((r) => r.up).length}/${rows.length} up`);
  process.stdout.write(formatColumns(["    NAME", "STATE", "API", "NATS", "PIDS"], rows.map((r) => [`    ${r.name}`, r.up ? "up" : "DOWN", r.apiUrl, r.natsUrl, r.pids.join(",")])));
  if (rows.length < REPLICATED_AT) say(`  store:       NOT fault-tolerant: ${rows.length} server(s), buckets keep 1 replica (3 servers are needed to survive the loss of one)`);
  const token = ensureTokenFile(join(dataDir, "token"));
  const live = rows.filter((r) => r.up).map((r) => r.natsUrl).join(",") || s.natsUrl;
  const tls = { caFile: caFileOf(dataDir) };
  const nc = await connectNats(userUrl(live, token), "flotilla-status", undefined, { maxReconnectAttempts: 0, timeout: 3000, tls }).catch(() => undefined);
  if (!nc) {
    say("  JetStream:   unknown (no server answers)");
    return;
  }
  try {
    // The node controller alone holds the system account; it answers for the whole NATS cluster.
    const reports = await askJetStream(nc, s.cluster, 400);
    if (reports.ok) {
      const meta = metaView(reports.value);
      say(`  JetStream:   meta leader ${meta.leader ?? "NONE"}; peers ${meta.peers.join(", ") || "-"}`);
    } else say(`  JetStream:   unknown (${reports.error.message})`);
    const placed = await streamPlacements(nc, subjects(s.cluster).kvStreams());
    process.stdout.write(
      formatColumns(
        ["    BUCKET", "REPLICAS", "LEADER", "FOLLOWERS"],
        placed.map((p) => [`    ${p.stream.replace(/^KV_/, "")}`, String(p.replicas), p.leader ?? "NONE", p.followers.map((f) => `${f.name}${f.offline ? " (offline)" : f.current ? "" : " (catching up)"}`).join(", ") || "-"]),
      ),
    );
    const actors = await pingActors(nc, s.cluster, 400);
    const leaders = actors.filter((a) => a.leader === true);
    const kinds = [...new Set(actors.filter((a) => a.leader !== null).map((a) => a.kind))].sort();
    say("  leaders:");
    process.stdout.write(
      formatColumns(
        undefined,
        kinds.map((k) => {
          const l = leaders.find((a) => a.kind === k);
          return [`    ${k}`, l ? (serverOfPid(rows, l.pid) ?? `pid ${l.pid}`) : "NONE", `${actors.filter((a) => a.kind === k).length} standing by or leading`];
        }),
      ),
    );
  } finally {
    await nc.close();
  }
}
