/**
 * How a worker gets its node's NATS credentials. It holds the node token (or the cluster token)
 * and a secret of its own (`<node dir>/join-secret`, made on first join). It connects as the `join`
 * user — who may publish only on `…nodes.join` — and asks for node `<name>`. A server records the
 * name with a hash of the secret in the servers' registry (first come, first served: the same name
 * with another secret is refused, as k3s refuses a node password that does not match), adds the
 * user `node-<name>` to its nats-server and answers with its password and every server's URL. The
 * other servers add the user within a few seconds (they re-read the registry every 3 s).
 *
 * @example
 *   const c = await requestNodeCredentials(["nats://10.0.0.5:4222"], token, "default", "w1", secret);
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { KV } from "@nats-io/kv";
import type { Credentials } from "./credentials.ts";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { subjects, encodeToken, decodeToken } from "../../bus/subjects.ts";
import { isTimeout } from "../../bus/errors.ts";
import { credentialsOf, joinPasswordFromNodeToken, nodeTokenOf } from "./credentials.ts";
import { writeFileAtomic } from "../atomic-file.ts";
import { connectNats } from "../host.ts";

export interface NodeJoinRequest {
  name: string;
  secret: string;
}
export interface NodeServers {
  /** Every server's NATS client URL. */
  nats: string[];
  /** Every server's leaf-node URL (`nats-leaf://host:port`). */
  leaf: string[];
}
export type NodeJoinReply = { ok: true; value: { credentials: Credentials; servers: NodeServers } } | { ok: false; error: { code: string; message: string } };

const NODE_KEY_PREFIX = "node.";
const nodeKey = (name: string) => `${NODE_KEY_PREFIX}${encodeToken(name)}`;
const hashOf = (secret: string) => createHash("sha256").update(secret).digest("hex");
/** Node names are DNS subdomains (Kubernetes); here also one NATS token. */
const NODE_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** The nodes the registry holds credentials for. */
export async function listNodes(kv: KV): Promise<string[]> {
  const out: string[] = [];
  for await (const k of await kv.keys(`${NODE_KEY_PREFIX}>`)) out.push(decodeToken(k.slice(NODE_KEY_PREFIX.length)));
  return out.sort();
}

class Refused extends Error {
  override readonly name = "Refused";
}

/**
 * Records a node (idempotent for the same secret); throws when the name belongs to another secret.
 * Retries for a while when the registry does not answer (a stream leader election answers
 * "jetstream is not enabled" for a few seconds).
 */
export async function registerNode(kv: KV, name: string, secret: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await registerOnce(kv, name, secret);
    } catch (e) {
      if (e instanceof Refused || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function registerOnce(kv: KV, name: string, secret: string): Promise<void> {
  if (!NODE_NAME.test(name)) throw new Refused(`"${name}" is not a valid node name (lower-case letters, digits, "-" and ".")`);
  const record = JSON.stringify({ name, secretHash: hashOf(secret) });
  for (let attempt = 0; attempt < 3; attempt++) {
    const e = await kv.get(nodeKey(name));
    if (e && e.operation === "PUT" && e.value.length) {
      if ((JSON.parse(e.string()) as { secretHash: string }).secretHash === hashOf(secret)) return;
      throw new Refused(`node "${name}" has joined before from another machine (another join secret); pick another --name`);
    }
    const created = await kv.create(nodeKey(name), record).then(
      () => true,
      () => false,
    );
    if (created) return;
  }
  throw new Error(`node "${name}" could not be recorded`);
}

/** A server's side: answers `…nodes.join`, recording the node and adding its user (onNode). */
export function serveNodeJoins(
  nc: NatsConnection,
  o: { cluster: string; token: string; registry: KV; servers: () => Promise<NodeServers>; onNode: (name: string) => void },
): Subscription {
  return nc.subscribe(subjects(o.cluster).nodesJoin(), {
    queue: "servers",
    callback: (_e, m) => {
      void (async (): Promise<NodeJoinReply> => {
        try {
          const r = JSON.parse(new TextDecoder().decode(m.data)) as Partial<NodeJoinRequest>;
          if (typeof r.name !== "string" || typeof r.secret !== "string" || r.secret.length < 16) throw new Refused("name and secret (16+ characters) are required");
          await registerNode(o.registry, r.name, r.secret);
          o.onNode(r.name);
          return { ok: true, value: { credentials: credentialsOf(o.token, { role: "node", node: r.name }), servers: await o.servers() } };
        } catch (e) {
          // A refusal is final; anything else (JetStream not ready yet, a timeout) the worker retries.
          return { ok: false, error: { code: e instanceof Refused ? "Forbidden" : "Unavailable", message: (e as Error).message } };
        }
      })().then((reply) => {
        if (m.reply) m.respond(new TextEncoder().encode(JSON.stringify(reply)));
      });
    },
  });
}

/** A worker's join secret (made once, 0600). */
export function ensureJoinSecret(path: string): string {
  if (existsSync(path)) return readFileSync(path, "utf8").trim();
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const s = randomBytes(24).toString("base64url");
  writeFileAtomic(path, s + "\n", { mode: 0o600 });
  return s;
}

/**
 * A worker's side: asks any of `servers` for node credentials (with the node token, or the cluster
 * token, which the node token is derived from), then waits until every server accepts them.
 */
export async function requestNodeCredentials(servers: string[], token: string, cluster: string, name: string, secret: string, caFile?: string): Promise<{ credentials: Credentials; servers: NodeServers }> {
  let nc: NatsConnection | undefined;
  let refused: Error | undefined;
  for (const password of [joinPasswordFromNodeToken(token), joinPasswordFromNodeToken(nodeTokenOf(token))]) {
    try {
      nc = await connectNats(servers.join(","), `node-join/${name}`, { user: "join", password, ...(caFile ? { caFile } : {}) }, { maxReconnectAttempts: 0, timeout: 5000 });
      break;
    } catch (e) {
      refused = e as Error;
    }
  }
  if (!nc) throw new Error(`the servers refused this token: ${refused?.message ?? ""}`);
  let reply: NodeJoinReply;
  // A cluster that is still electing its JetStream leaders answers Unavailable for a while, or not
  // at all in time; a join is asked again (with the same secret it is the same join).
  const joinDeadline = Date.now() + 90_000;
  try {
    for (;;) {
      let m;
      try {
        m = await nc.request(subjects(cluster).nodesJoin(), new TextEncoder().encode(JSON.stringify({ name, secret })), { timeout: 20_000 });
      } catch (e) {
        if (!isTimeout(e) || Date.now() > joinDeadline) throw e;
        continue;
      }
      reply = JSON.parse(new TextDecoder().decode(m.data)) as NodeJoinReply;
      if (reply.ok || reply.error.code !== "Unavailable" || Date.now() > joinDeadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await nc.close().catch(() => undefined);
  }
  if (!reply.ok) throw new Error(reply.error.message);
  const credentials = { ...reply.value.credentials, ...(caFile ? { caFile } : {}) };
  // Every server adds the user within a few seconds; the node connects to all of them.
  const deadline = Date.now() + 20_000;
  for (const url of new Set([...servers.flatMap((u) => u.split(",")), ...reply.value.servers.nats])) {
    for (;;) {
      // Only this server: the client would otherwise fail over to servers it learns from it.
      const c = await connectNats(url, `node-join/${name}`, credentials, { maxReconnectAttempts: 0, timeout: 3000, ignoreClusterUpdates: true }).catch((e: Error) => e);
      if (!(c instanceof Error)) {
        await c.close();
        break;
      }
      if (Date.now() > deadline) throw new Error(`the server at ${url} does not accept the node's credentials: ${c.message}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return { credentials, servers: reply.value.servers };
}

/**
 * Calls `onNode` for every node the registry holds, and for each one that joins later (a KV
 * watch), until the returned stop is called.
 */
export async function watchNodes(kv: KV, onNode: (name: string) => void): Promise<{ stop(): void }> {
  const w = await kv.watch({ key: `${NODE_KEY_PREFIX}>` });
  void (async () => {
    for await (const e of w) if (e.operation === "PUT") onNode(decodeToken(e.key.slice(NODE_KEY_PREFIX.length)));
  })().catch(() => undefined);
  return { stop: () => w.stop() };
}
