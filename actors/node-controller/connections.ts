/**
 * The fast signal: NATS connection advisories from the server's system account, mapped to nodes.
 * Kubelets connect with the connection name `kubelet/<nodeName>`.
 */

import { nodeOfUser } from "../../runtime/cluster/credentials.ts";

export const KUBELET_CONNECTION_PREFIX = "kubelet/";
const ANONYMOUS_USER = "flotilla";

/** The connection name a kubelet uses, so that advisories can be mapped back to its node. */
export function kubeletConnectionName(nodeName: string): string {
  return `${KUBELET_CONNECTION_PREFIX}${nodeName}`;
}

export interface Advisory {
  kind: "connect" | "disconnect";
  node: string;
  /** Unique per connection: server id + client id. */
  conn: string;
  reason?: string;
}

/** Decodes a `$SYS.ACCOUNT.<acct>.CONNECT|DISCONNECT` payload; undefined for anything that is not a kubelet's. */
export function parseAdvisory(raw: unknown): Advisory | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const r = raw as { type?: unknown; client?: { id?: unknown; name?: unknown; server?: unknown; user?: unknown }; server?: { id?: unknown }; reason?: unknown };
  const kind =
    typeof r.type === "string" && r.type.endsWith("client_connect")
      ? "connect"
      : typeof r.type === "string" && r.type.endsWith("client_disconnect")
        ? "disconnect"
        : undefined;
  if (!kind || typeof r.client !== "object" || r.client === null) return undefined;
  const name = r.client.name;
  if (typeof name !== "string" || !name.startsWith(KUBELET_CONNECTION_PREFIX)) return undefined;
  const node = name.substring(KUBELET_CONNECTION_PREFIX.length);
  if (node === "") return undefined;
  // On a secured bus the name proves nothing: only the node's own NATS user speaks for it (the
  // anonymous `flotilla` user exists only on the in-process test servers).
  const user = r.client.user;
  if (typeof user === "string" && user !== ANONYMOUS_USER && nodeOfUser(user) !== node) return undefined;
  const server = typeof r.server?.id === "string" ? r.server.id : String(r.client.server ?? "");
  return { kind, node, conn: `${server}/${String(r.client.id ?? "")}`, reason: typeof r.reason === "string" ? r.reason : undefined };
}

/** Which kubelets hold a connection now; when the last one of a node dropped. */
export class ConnectionTable {
  private readonly conns = new Map<string, Set<string>>();
  private readonly dropped = new Map<string, number>();
  private readonly drops: number[] = [];

  apply(a: Advisory, now: number): void {
    const set = this.conns.get(a.node) ?? new Set<string>();
    this.conns.set(a.node, set);
    if (a.kind === "connect") {
      set.add(a.conn);
      this.dropped.delete(a.node);
      return;
    }
    set.delete(a.conn);
    // A disconnect of a connection we never saw connect (we started later) still counts.
    if (set.size === 0) {
      this.dropped.set(a.node, now);
      this.drops.push(now);
      if (this.drops.length > 10_000) this.drops.splice(0, this.drops.length - 10_000);
    }
  }

  /** When the node's last connection dropped, if it has none now. */
  disconnectedAt(node: string): number | undefined {
    return this.dropped.get(node);
  }

  /** Forget a node's drop (its lease was renewed since: it is alive through some connection). */
  clearDrop(node: string): void {
    this.dropped.delete(node);
  }

  /** Times at which a node lost its last connection (for the mass-disconnect guard). */
  recentDrops(now: number, windowMs: number): number[] {
    return this.drops.filter((t) => now - t <= windowMs);
  }

  connectedCount(): number {
    let n = 0;
    for (const s of this.conns.values()) if (s.size > 0) n++;
    return n;
  }

  /** After our own reconnect the server may have restarted: what we knew is stale. */
  reset(): void {
    this.conns.clear();
    this.dropped.clear();
    this.drops.length = 0;
  }
}
