/**
 * Who may connect to a cluster's NATS, and what each may do there. There is no anonymous user:
 * every connection is one of these users, with a password derived from the cluster's token (HMAC,
 * see token.ts), and subject permissions by role:
 *
 * | user          | who                                   | may publish                                      |
 * | ------------- | ------------------------------------- | ------------------------------------------------ |
 * | `store`       | store replicas, the server process     | everything in the account (JetStream API, `$KV`)  |
 * | `control`     | controllers, scheduler, api-server     | `flotilla.<c>.>` but `….cluster.>` and `….kvwrite.>`, replies, KV watches (read-only) |
 * | `node-<name>` | that node's kubelet and proxy          | `…store.node.<name>.*`, replies, KV watches       |
 * | `join`        | a worker that holds the node token     | `…nodes.join` (asks for its node's credentials)   |
 * | `admin`       | the flotilla CLI                       | everything in the account                         |
 * | `sys`         | the node controller alone              | the system account (advisories, JSZ, peer remove) |
 *
 * Nobody but the node controller connects to the system account. Servers, `flotilla status` and
 * `flotilla server remove` ask it over `….cluster.>` (bus/cluster-protocol.ts) as store or admin.
 *
 * Credentials files (`<data-dir>/credentials/<user>.json`, 0600) hold `{ user, password }` and,
 * when the cluster uses TLS, the CA file to verify servers with.
 *
 * @example
 *   const users = clusterUsers(token, "default", ["node-1"]);
 *   startNatsServer({ users, passwords: { sys: sysPassword(token) } });
 */
import type { NatsPermissions, NatsUser } from "../nats-server.ts";
import { match } from "ts-pattern";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { subjects, INBOX_ALL, jsApi } from "../../bus/subjects.ts";
import { derive } from "./token.ts";
import { JETSTREAM_DOMAIN } from "./server-config.ts";
import { writeFileAtomic } from "../atomic-file.ts";

export const BusRole = { store: "store", control: "control", node: "node", admin: "admin", join: "join" } as const;
export type BusRole = (typeof BusRole)[keyof typeof BusRole];

/** Who an actor connects as: kubelets and proxies as their node, the store as the store, the rest as control. */
export type BusIdentity = { role: "store" } | { role: "control" } | { role: "admin" } | { role: "join" } | { role: "node"; node: string };

export interface Credentials {
  user: string;
  password: string;
  /** The cluster CA (PEM file) that the servers' certificates are verified with, when TLS is on. */
  caFile?: string;
}

const NODE_USER_PREFIX = "node-";

export function natsUserOf(id: BusIdentity): string {
  return id.role === "node" ? `${NODE_USER_PREFIX}${id.node}` : id.role;
}

/** The node a NATS user speaks for (`node-<name>`), if it is a node's user. */
export function nodeOfUser(user: string | undefined): string | undefined {
  return user?.startsWith(NODE_USER_PREFIX) ? user.slice(NODE_USER_PREFIX.length) : undefined;
}

/** The token workers hold (k3s' agent token): derived one-way from the cluster token. */
export function nodeTokenOf(token: string): string {
  return `F1.${derive(token, "node-token")}`;
}

export function passwordOf(token: string, id: BusIdentity): string {
  // The join user's password comes from the node token, so a worker holding only that can use it.
  if (id.role === "join") return derive(nodeTokenOf(token), "user:join");
  return derive(token, `user:${natsUserOf(id)}`);
}

/** The join user's password as a worker computes it from the node token it was given. */
export function joinPasswordFromNodeToken(nodeToken: string): string {
  return derive(nodeToken, "user:join");
}

export function sysPassword(token: string): string {
  return derive(token, "user:sys");
}

export function credentialsOf(token: string, id: BusIdentity, caFile?: string): Credentials {
  return { user: natsUserOf(id), password: passwordOf(token, id), ...(caFile ? { caFile } : {}) };
}

/** What a KV watch needs of the JetStream API on the cluster's buckets, and nothing more. */
function watchSubjects(cluster: string): string[] {
  const s = subjects(cluster);
  const streams = [s.bucket(), s.eventsBucket(), s.leasesBucket()].map((b) => s.kvStream(b));
  return [
    jsApi.info(),
    jsApi.flowControl(),
    ...streams.flatMap((st) => [jsApi.streamInfo(st), jsApi.streamMsgGet(st), ...jsApi.consumerCreate(st), jsApi.consumerInfo(st), jsApi.consumerDelete(st)]),
  ];
}

/** Subject permissions of a role; undefined: the whole account. */
export function permissionsOf(cluster: string, id: BusIdentity): NatsPermissions | undefined {
  const s = subjects(cluster);
  return match(id)
    .with({ role: "store" }, { role: "admin" }, () => undefined)
    // Forwarded KV writes (…kvwrite.>) are stored unvalidated: only store users send or answer them.
    .with({ role: "control" }, () => ({ publish: { allow: [s.all(), INBOX_ALL, ...watchSubjects(cluster)], deny: [s.clusterAll(), s.kvWriteAll()] }, subscribe: { allow: [s.all(), INBOX_ALL], deny: [s.kvWriteAll()] } }))
    .with({ role: "node" }, (n) => ({
      // A leaf worker's JetStream API requests reach the servers in their domain (docs/ha.md).
      publish: { allow: [s.storeAsNodeAll(n.node), s.nodeMetrics(n.node), s.podTokenForNode(n.node), INBOX_ALL, ...watchSubjects(cluster), ...watchSubjects(cluster).filter((x) => x.startsWith("$JS.API.")).map((x) => jsApi.inDomain(JETSTREAM_DOMAIN, x))] },
      subscribe: { allow: [s.nodeAll(n.node), s.actorsPing(), INBOX_ALL] },
    }))
    .with({ role: "join" }, () => ({ publish: { allow: [s.nodesJoin()] }, subscribe: { allow: [INBOX_ALL] } }))
    .exhaustive();
}

export function natsUser(token: string, cluster: string, id: BusIdentity): NatsUser {
  const permissions = permissionsOf(cluster, id);
  return { user: natsUserOf(id), password: passwordOf(token, id), ...(permissions ? { permissions } : {}) };
}

/** Every user of a cluster's account: the fixed roles plus one per node. */
export function clusterUsers(token: string, cluster: string, nodes: Iterable<string>): NatsUser[] {
  const fixed: BusIdentity[] = [{ role: "store" }, { role: "control" }, { role: "admin" }, { role: "join" }];
  const perNode = [...new Set(nodes)].sort().map((node): BusIdentity => ({ role: "node", node }));
  return [...fixed, ...perNode].map((id) => natsUser(token, cluster, id));
}

export const credentialsDir = (dataDir: string) => join(dataDir, "credentials");
export const credentialsPath = (dataDir: string, user: string) => join(credentialsDir(dataDir), `${user}.json`);

/** Writes a credentials file (0600, in a 0700 dir); returns its path. */
export function writeCredentials(dataDir: string, c: Credentials): string {
  mkdirSync(credentialsDir(dataDir), { recursive: true, mode: 0o700 });
  const p = credentialsPath(dataDir, c.user);
  writeFileAtomic(p, JSON.stringify(c, null, 2) + "\n", { mode: 0o600 });
  return p;
}

/** Reads a credentials file written by writeCredentials; undefined when it is absent or not one. */
export function readCredentials(path: string): Credentials | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const c = JSON.parse(readFileSync(path, "utf8")) as Partial<Credentials>;
    if (typeof c.user !== "string" || typeof c.password !== "string") return undefined;
    return { user: c.user, password: c.password, ...(typeof c.caFile === "string" ? { caFile: c.caFile } : {}) };
  } catch {
    return undefined;
  }
}
