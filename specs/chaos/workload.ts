/**
 * The churn a chaos run keeps up while faults happen: ConfigMap writes (create, CAS update, delete
 * with a resourceVersion precondition) spread over every server's api-server, a watch that resumes
 * across servers and records every event, five Deployments scaled and rolled, and the example
 * Service probed through its ClusterIP.
 */
import type { IncomingMessage } from "node:http";
import type { Rng } from "./rng.ts";
import type { WriteRecord, ReadRecord, EventRecord, StreamRecord, Outcome } from "./history.ts";
import type { ChaosCluster, Api } from "./cluster.ts";
import { request } from "node:https";
import { get as httpGet } from "node:http";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { WORKLOAD_PREFIX } from "./checker.ts";

export const NS = "chaos";
const CM = `/api/v1/namespaces/${NS}/configmaps`;
const DEPLOY = `/apis/apps/v1/namespaces/${NS}/deployments`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What an answer means for a write: 2xx acked; a refusal that changed nothing; or unknown. */
export function outcomeOf(status: number): Outcome {
  if (status >= 200 && status < 300) return "acked";
  if ([400, 403, 404, 409, 410, 422, 429].includes(status)) return "refused";
  return "ambiguous";
}

interface Known {
  rv?: string; // undefined: unknown (an ambiguous write), read it again before the next write
}

export class Writers {
  readonly writes: WriteRecord[] = [];
  readonly reads: ReadRecord[] = [];
  private readonly keys = new Map<string, Known>();
  private next = 0;
  private stopped = false;
  private running: Promise<void>[] = [];

  constructor(
    private readonly cc: ChaosCluster,
    private readonly r: Rng,
    private readonly o: { workers: number; paceMs: number; maxKeys: number },
  ) {}

  start(): void {
    this.running = Array.from({ length: this.o.workers }, () => this.loop());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
  }

  get acked(): number {
    return this.writes.filter((w) => w.outcome === "acked").length;
  }

  /** When the last write was acknowledged (0: none yet). */
  lastAckAt(): number {
    for (let i = this.writes.length - 1; i >= 0; i--) if (this.writes[i]!.outcome === "acked") return this.writes[i]!.doneAt;
    return 0;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      await this.step().catch(() => undefined);
      await sleep(this.o.paceMs);
    }
  }

  private async step(): Promise<void> {
    const server = this.r.pick(this.cc.serverNames);
    const api = this.cc.api(server);
    const unknown = [...this.keys].filter(([, k]) => k.rv === undefined).map(([key]) => key);
    if (unknown.length) return this.refresh(api, server, this.r.pick(unknown));
    const known = [...this.keys].filter(([, k]) => k.rv !== undefined).map(([key]) => key);
    const roll = this.r.next();
    if (known.length < this.o.maxKeys && (roll < 0.4 || known.length === 0)) return this.create(api, server);
    const key = this.r.pick(known);
    if (roll < 0.85) return this.update(api, server, key);
    return this.delete(api, server, key);
  }

  private async refresh(api: Api, server: string, key: string): Promise<void> {
    const name = key.split("/")[1]!;
    const sentAt = Date.now();
    const r = await api.call("GET", `${CM}/${name}`).catch((e: Error) => ({ status: 0, body: { message: e.message } as Record<string, unknown> }));
    this.reads.push({ key, server, status: r.status, ...(r.status === 200 ? {} : { message: String(r.body.message ?? "") }), sentAt, doneAt: Date.now() });
    if (r.status === 200) this.keys.set(key, { rv: (r.body.metadata as { resourceVersion: string }).resourceVersion });
    else if (r.status === 404) this.keys.delete(key);
  }

  private record(w: Omit<WriteRecord, "id" | "outcome" | "doneAt" | "status">, r: { status: number; rv?: string; message?: string }): WriteRecord {
    const { status, rv, message } = r;
    const rec: WriteRecord = { ...w, id: this.writes.length + 1, outcome: outcomeOf(status), status, doneAt: Date.now(), ...(rv ? { rv } : {}), ...(message ? { message } : {}) };
    this.writes.push(rec);
    return rec;
  }

  private marker(): string {
    return `w${++this.next}`;
  }

  private async send(api: Api, method: string, path: string, body: unknown): Promise<{ status: number; rv?: string; message?: string }> {
    try {
      const r = await api.call(method, path, body);
      const ok = r.status >= 200 && r.status < 300;
      return { status: r.status, rv: ok ? (r.body.metadata as { resourceVersion?: string } | undefined)?.resourceVersion : undefined, ...(ok ? {} : { message: String(r.body.message ?? "") }) };
    } catch (e) {
      return { status: 0, message: (e as Error).message };
    }
  }

  private async create(api: Api, server: string): Promise<void> {
    const marker = this.marker();
    const name = `${WORKLOAD_PREFIX}${marker}`;
    const key = `${NS}/${name}`;
    this.keys.set(key, {});
    const sentAt = Date.now();
    const r = await this.send(api, "POST", CM, { apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { m: marker } });
    const w = this.record({ kind: "create", key, marker, server, sentAt }, r);
    this.settle(key, w, r.rv);
  }

  private async update(api: Api, server: string, key: string): Promise<void> {
    const marker = this.marker();
    const baseRv = this.keys.get(key)!.rv!;
    const name = key.split("/")[1]!;
    this.keys.set(key, {});
    const sentAt = Date.now();
    const r = await this.send(api, "PUT", `${CM}/${name}`, { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: NS, resourceVersion: baseRv }, data: { m: marker } });
    const w = this.record({ kind: "update", key, marker, baseRv, server, sentAt }, r);
    this.settle(key, w, r.rv);
  }

  private async delete(api: Api, server: string, key: string): Promise<void> {
    const marker = this.marker();
    const baseRv = this.keys.get(key)!.rv!;
    const name = key.split("/")[1]!;
    this.keys.set(key, {});
    const sentAt = Date.now();
    const r = await this.send(api, "DELETE", `${CM}/${name}`, { kind: "DeleteOptions", apiVersion: "v1", preconditions: { resourceVersion: baseRv } });
    const w = this.record({ kind: "delete", key, marker, baseRv, server, sentAt }, r);
    if (w.outcome === "acked" || r.status === 404) this.keys.delete(key);
  }

  /** After a create or update: the revision it made, or unknown (read again before the next write). */
  private settle(key: string, w: WriteRecord, rv: string | undefined): void {
    if (w.outcome === "acked" && rv) this.keys.set(key, { rv });
    else if (w.status === 404 && w.kind === "update") this.keys.delete(key);
    else if (w.status === 409 && w.kind === "create") this.keys.delete(key);
    else this.keys.set(key, {});
  }
}

/** A watch on the chaos namespace's ConfigMaps that resumes on another server when its stream ends. */
export class Watcher {
  readonly events: EventRecord[] = [];
  readonly streams: StreamRecord[] = [];
  private lastRv = "0";
  private stopped = false;
  private res?: IncomingMessage;
  private done?: Promise<void>;
  private readonly ca: string;

  constructor(private readonly cc: ChaosCluster) {
    this.ca = readFileSync(join(cc.c.servers[0]!.dir, "pki", "ca.crt"), "utf8");
  }

  get revision(): number {
    return Number(this.lastRv);
  }

  start(): void {
    this.done = this.run();
  }

  /** Whether the watch saw every listed object at its revision or later, and a DELETED for every other key. */
  caughtUp(listed: { key: string; rv: string }[]): boolean {
    const last = new Map<string, { rv: number; type: string }>();
    for (const e of this.events) {
      const l = last.get(e.key);
      if (!l || Number(e.rv) >= l.rv) last.set(e.key, { rv: Number(e.rv), type: e.type });
    }
    const want = new Map(listed.map((o) => [o.key, Number(o.rv)]));
    for (const [key, rv] of want) if ((last.get(key)?.rv ?? -1) < rv) return false;
    for (const [key, l] of last) if (!want.has(key) && l.type !== "DELETED") return false;
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.res?.destroy();
    await this.done;
  }

  private async run(): Promise<void> {
    let i = 0;
    let relist = true;
    while (!this.stopped) {
      const server = this.cc.c.servers[i++ % this.cc.c.servers.length]!;
      try {
        if (relist) {
          const api = this.cc.api(server.name);
          const r = await api.call("GET", CM);
          if (r.status !== 200) throw new Error(`list ${r.status}`);
          const stream = this.streams.length + 1;
          const rv = (r.body.metadata as { resourceVersion: string }).resourceVersion;
          for (const o of r.body.items as { metadata: { name: string; resourceVersion: string }; data?: { m?: string } }[]) {
            this.events.push({ stream, type: "LISTED", key: `${NS}/${o.metadata.name}`, rv: o.metadata.resourceVersion, marker: o.data?.m, at: Date.now() });
          }
          this.lastRv = rv;
          this.streams.push({ stream, server: server.name, fromRv: rv, startedAt: Date.now() });
          relist = false;
        } else {
          this.streams.push({ stream: this.streams.length + 1, server: server.name, fromRv: this.lastRv, startedAt: Date.now() });
        }
        const end = await this.follow(server.apiUrl, this.streams.at(-1)!.stream);
        const s = this.streams.at(-1)!;
        s.endedAt = Date.now();
        s.end = this.stopped ? "stopped" : end;
        if (end === "expired") relist = true;
      } catch {
        await sleep(200);
      }
    }
  }

  private follow(apiUrl: string, stream: number): Promise<"resumed" | "expired"> {
    const u = new URL(apiUrl);
    const path = `${CM}?watch=1&allowWatchBookmarks=true&resourceVersion=${this.lastRv}&timeoutSeconds=60`;
    return new Promise((resolve) => {
      let buf = "";
      let result: "resumed" | "expired" = "resumed";
      const req = request({ host: u.hostname, port: u.port, path, method: "GET", ca: this.ca, headers: { authorization: `Bearer ${this.cc.c.adminToken}` }, timeout: 10_000 }, (res) => {
        this.res = res;
        if (res.statusCode === 410) result = "expired";
        res.on("data", (d: Buffer) => {
          buf += d.toString("utf8");
          let nl: number;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (!line.trim()) continue;
            try {
              const ev = JSON.parse(line) as { type: string; object: { code?: number; metadata?: { name?: string; resourceVersion?: string }; data?: { m?: string } } };
              if (ev.type === "ERROR") {
                if (ev.object.code === 410) result = "expired";
                continue;
              }
              const rv = ev.object.metadata?.resourceVersion;
              if (!rv) continue;
              if (ev.type !== "BOOKMARK") {
                this.events.push({ stream, type: ev.type as EventRecord["type"], key: `${NS}/${ev.object.metadata!.name}`, rv, marker: ev.object.data?.m, at: Date.now() });
              }
              this.lastRv = rv;
            } catch {
              /* a torn line at a broken stream */
            }
          }
        });
        res.on("end", () => resolve(result));
        res.on("error", () => resolve(result));
        res.on("close", () => resolve(result));
      });
      // No data for 10 s on a live stream is fine (bookmarks come every minute); only a socket that
      // never connects times out.
      req.on("socket", (s) => s.once("connect", () => req.setTimeout(0)));
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", () => resolve(result));
      req.end();
    });
  }
}

/** Five Deployments scaled and rolled at random, and the example web Deployment + Service. */
export class Deployments {
  static readonly names = ["d1", "d2", "d3", "d4", "d5"];
  private stopped = false;
  private done?: Promise<void>;
  readonly changes: { at: number; name: string; change: string; status: number }[] = [];

  constructor(
    private readonly cc: ChaosCluster,
    private readonly r: Rng,
    private readonly everyMs: number,
  ) {}

  async create(): Promise<void> {
    const api = this.cc.api(this.cc.serverNames[0]!);
    const ns = await api.call("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    if (ns.status !== 201 && ns.status !== 409) throw new Error(`namespace: ${ns.status} ${JSON.stringify(ns.body)}`);
    for (const name of Deployments.names) await this.must(api, "POST", DEPLOY, deployment(name, 2, ["sh", "-c", "exec sleep 3600"]));
    await this.must(api, "POST", DEPLOY, deployment("web", 2, ["sh", "-c", 'D=$(mktemp -d); echo "web $HOSTNAME" > $D/index.html; exec busybox httpd -f -p "$PORT" -h "$D"'], [{ containerPort: 8080, name: "http" }]));
    await this.must(api, "POST", `/api/v1/namespaces/${NS}/services`, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web" },
      spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080, name: "http" }] },
    });
  }

  private async must(api: Api, method: string, path: string, body: unknown): Promise<void> {
    for (let i = 0; ; i++) {
      const r = await api.call(method, path, body).catch(() => ({ status: 0, body: {} }));
      if (r.status === 201 || r.status === 409) return;
      if (i > 20) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
      await sleep(500);
    }
  }

  start(): void {
    this.done = (async () => {
      let gen = 0;
      while (!this.stopped) {
        await sleep(this.everyMs);
        if (this.stopped) break;
        const name = this.r.pick(Deployments.names);
        const api = this.cc.api(this.r.pick(this.cc.serverNames));
        const roll = this.r.next() < 0.5;
        const patch = roll
          ? { spec: { template: { metadata: { annotations: { "chaos/generation": String(++gen) } } } } }
          : { spec: { replicas: 1 + this.r.int(3) } };
        const r = await api.call("PATCH", `${DEPLOY}/${name}`, patch).catch(() => ({ status: 0 }));
        this.changes.push({ at: Date.now(), name, change: roll ? `roll ${gen}` : `scale ${(patch as { spec: { replicas: number } }).spec.replicas}`, status: r.status });
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

function deployment(name: string, replicas: number, command: string[], ports?: { containerPort: number; name: string }[]) {
  const labels = { app: name };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: 2,
          containers: [{ name: "c", image: "busybox", command, ...(ports ? { ports, readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } } : {}) }],
        },
      },
    },
  };
}

/**
 * One GET of the example Service's ClusterIP: whether a web pod answered (`HTTP 200`, a body that
 * begins `web `), and what answered (status and the start of the body, or the client's error).
 */
function askClusterIP(ip: string): Promise<{ web: boolean; said: string }> {
  return new Promise((resolve) => {
    const req = httpGet(`http://${ip}:80/`, { timeout: 2000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body = (body + d).slice(0, 60)));
      res.on("end", () => resolve({ web: res.statusCode === 200 && body.startsWith("web "), said: `HTTP ${res.statusCode} ${JSON.stringify(body)}` }));
    });
    req.on("timeout", () => req.destroy(new Error("timed out after 2 s")));
    req.on("error", (e) => resolve({ web: false, said: e.message }));
  });
}

/**
 * The example Service as its clients meet it: a GET of its ClusterIP, which must be answered by a
 * web pod. The ClusterIP is read through the api-server once and kept (it never changes while the
 * Service lives), so the probe measures the Service, not the api-server it was read through.
 */
export class ServiceProbe {
  private ip?: string;
  /** Why the last probe that failed did (shown when the Service misses its time). */
  lastMiss?: string;

  async answers(api: Api): Promise<boolean> {
    this.ip ??= await api
      .call("GET", `/api/v1/namespaces/${NS}/services/web`)
      .then((r) => (r.body.spec as { clusterIP?: string } | undefined)?.clusterIP, () => undefined);
    if (!this.ip) return this.miss("the Service could not be read");
    const answer = await askClusterIP(this.ip);
    return answer.web || this.miss(`${this.ip}: ${answer.said}`);
  }

  private miss(why: string): false {
    this.lastMiss = why;
    return false;
  }
}

/** What the Service's probe meets, step by step (printed when the Service does not answer). */
export async function describeService(api: Api): Promise<string> {
  const svc = await api.call("GET", `/api/v1/namespaces/${NS}/services/web`).catch((e: Error) => ({ status: 0, body: { message: e.message } as Record<string, unknown> }));
  const ip = (svc.body.spec as { clusterIP?: string } | undefined)?.clusterIP;
  const ep = await api.call("GET", `/api/v1/namespaces/${NS}/endpoints/web`).catch(() => undefined);
  const subsets = (ep?.body.subsets as { addresses?: { ip: string }[]; notReadyAddresses?: { ip: string }[] }[] | undefined) ?? [];
  const ready = subsets.flatMap((x) => x.addresses ?? []).map((a) => a.ip);
  const notReady = subsets.flatMap((x) => x.notReadyAddresses ?? []).map((a) => a.ip);
  const http = ip ? (await askClusterIP(ip)).said : "not tried";
  return `GET service ${svc.status}${ip ? ` (${ip})` : ""}; endpoints ${ep?.status ?? "error"}: ready [${ready.join(", ")}], not ready [${notReady.join(", ")}]; ${http}`;
}
