/**
 * Pure load balancing for one service port: round-robin over the ready backends, with
 * `sessionAffinity: ClientIP` (a client keeps its backend until the affinity times out or the
 * backend leaves). The clock comes in as `now`.
 */

export interface Backend {
  ip: string;
  port: number;
  /** The pod behind it, for logs and specs. */
  pod?: string;
}

export const backendKey = (b: Backend): string => `${b.ip}:${b.port}`;

export interface BalancerOptions {
  sessionAffinity?: "None" | "ClientIP";
  /** Kubernetes' default: 3 hours. */
  affinityTimeoutSeconds?: number;
}

export class Balancer {
  private backends: Backend[] = [];
  private next = 0;
  private readonly affinity = new Map<string, { backend: string; lastUsed: number }>();
  private opts: Required<BalancerOptions>;

  constructor(opts: BalancerOptions = {}) {
    this.opts = { sessionAffinity: opts.sessionAffinity ?? "None", affinityTimeoutSeconds: opts.affinityTimeoutSeconds ?? 10800 };
  }

  configure(opts: BalancerOptions): void {
    const sessionAffinity = opts.sessionAffinity ?? "None";
    if (sessionAffinity !== this.opts.sessionAffinity) this.affinity.clear();
    this.opts = { sessionAffinity, affinityTimeoutSeconds: opts.affinityTimeoutSeconds ?? 10800 };
  }

  /** Replaces the backend set; backends that left lose their sticky clients at once. */
  setBackends(list: readonly Backend[]): void {
    const sorted = [...list].sort((a, b) => backendKey(a).localeCompare(backendKey(b)));
    const keys = new Set(sorted.map(backendKey));
    for (const [client, a] of this.affinity) if (!keys.has(a.backend)) this.affinity.delete(client);
    this.backends = sorted;
    if (this.next >= sorted.length) this.next = 0;
  }

  get size(): number {
    return this.backends.length;
  }

  list(): readonly Backend[] {
    return this.backends;
  }

  /** The backend for a new connection from `clientIp`; undefined when there is none. */
  pick(clientIp: string, now: number): Backend | undefined {
    if (this.backends.length === 0) return undefined;
    if (this.opts.sessionAffinity === "ClientIP") {
      const a = this.affinity.get(clientIp);
      if (a && now - a.lastUsed <= this.opts.affinityTimeoutSeconds * 1000) {
        const b = this.backends.find((x) => backendKey(x) === a.backend);
        if (b) {
          a.lastUsed = now;
          return b;
        }
      }
    }
    const b = this.backends[this.next % this.backends.length]!;
    this.next = (this.next + 1) % this.backends.length;
    if (this.opts.sessionAffinity === "ClientIP") this.affinity.set(clientIp, { backend: backendKey(b), lastUsed: now });
    return b;
  }

  /** A backend that refused a connection: try the others before giving up (the caller retries). */
  pickExcept(clientIp: string, now: number, tried: ReadonlySet<string>): Backend | undefined {
    for (let i = 0; i < this.backends.length; i++) {
      const b = this.pick(clientIp, now);
      if (!b) return undefined;
      if (!tried.has(backendKey(b))) return b;
      this.affinity.delete(clientIp);
    }
    return undefined;
  }
}
