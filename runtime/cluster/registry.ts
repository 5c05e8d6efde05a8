/**
 * The servers' registry: a KV bucket `flotilla-<cluster>-servers` with one key per server (its
 * addresses, so workers and other servers find every URL) and the sealed bootstrap data.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { KV } from "@nats-io/kv";
import { Kvm, Bucket } from "@nats-io/kv";
import { subjects, encodeToken } from "../../bus/subjects.ts";

export interface ServerRecord {
  name: string;
  address: string;
  natsUrl: string;
  /** host:port of the route listener. */
  route: string;
  leafUrl?: string;
  apiUrl: string;
  startedAt: string;
}

export const BOOTSTRAP_KEY = "bootstrap";
const serverKey = (name: string) => `server.${encodeToken(name)}`;

export async function openRegistry(nc: NatsConnection, cluster: string, replicas = 1): Promise<KV> {
  const kvm = new Kvm(nc);
  const name = subjects(cluster).serversBucket();
  try {
    return await kvm.create(name, { history: 1, replicas, allow_direct: replicas === 1 } as never);
  } catch (e) {
    if (/already in use|exists/.test(String((e as Error).message))) return await kvm.open(name);
    throw e;
  }
}

/**
 * The registry of a running cluster, opened without the create request of `openRegistry` (which the
 * meta leader may leave unanswered while a server is lost).
 */
export async function existingRegistry(nc: NatsConnection, cluster: string): Promise<KV> {
  return new Kvm(nc).open(subjects(cluster).serversBucket());
}

export async function putServer(kv: KV, r: ServerRecord): Promise<void> {
  await kv.put(serverKey(r.name), JSON.stringify(r));
}

export async function deleteServer(kv: KV, name: string): Promise<void> {
  await kv.delete(serverKey(name));
}

/**
 * Every listed server. The keys come from the stream's own subject counts (its leader answers),
 * not from a consumer: while a lost server leaves the JetStream cluster the meta leader may not
 * place a new consumer for a while, but the stream answers.
 */
export async function listServers(kv: KV): Promise<ServerRecord[]> {
  const out: ServerRecord[] = [];
  const b = kv as Bucket;
  const prefix = `${b.prefix}.`;
  const info = await b.jsm.streams.info(b.stream, { subjects_filter: `${prefix}server.>` });
  for (const subject of Object.keys(info.state.subjects ?? {})) {
    const e = await kv.get(subject.slice(prefix.length));
    if (e && e.operation === "PUT" && e.value.length) out.push(JSON.parse(e.string()) as ServerRecord);
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The NATS and leaf-node URLs a joining node is given: every listed server's, and always the
 * answering server's own. While a bucket moves to R3 in place the registry can list nothing for a
 * moment; a node given no server could not connect.
 */
export function announcedServers(listed: readonly Pick<ServerRecord, "name" | "natsUrl" | "leafUrl">[], self: Pick<ServerRecord, "name" | "natsUrl" | "leafUrl">): { nats: string[]; leaf: string[] } {
  const all = [...listed.filter((r) => r.name !== self.name), self].sort((a, b) => a.name.localeCompare(b.name));
  return { nats: all.map((r) => r.natsUrl), leaf: all.flatMap((r) => (r.leafUrl ? [r.leafUrl] : [])) };
}
