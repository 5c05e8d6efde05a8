/**
 * A real nats-server with JetStream + store actor(s) in this process, for integration specs.
 * The cluster is named after the spec run (run.ts) unless a spec names it, and the kubelets it
 * starts stop their pods when they stop (`stopPodsOnExit`, unless a spec says otherwise), so a
 * stopped test cluster leaves no container or host process behind.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { ActorSpec } from "../../runtime/actor.ts";
import type { Host } from "../../runtime/host.ts";
import type { NatsServer } from "../../runtime/nats-server.ts";
import { startNatsServer } from "../../runtime/nats-server.ts";
import { startHost, connectNats } from "../../runtime/host.ts";
import { StoreClient } from "../../bus/store-client.ts";
import { storeActor } from "../../actors/store/index.ts";
import { runCluster } from "./run.ts";

export interface TestCluster {
  url: string;
  sysUrl: string;
  cluster: string;
  nc: NatsConnection;
  store: StoreClient;
  server: NatsServer;
  host: Host;
  /** Starts more actors against this cluster (stopped with it). */
  startActors(actors: ActorSpec[]): Promise<Host>;
  stop(): Promise<void>;
}

export async function startTestCluster(o: { actors?: ActorSpec[]; stores?: number; cluster?: string; leaseDurationMs?: number; storeOpts?: Record<string, unknown> } = {}): Promise<TestCluster> {
  process.env.FLOTILLA_LOG ??= "warn";
  const cluster = o.cluster ?? runCluster();
  const server = await startNatsServer({ port: 0 });
  const stores: ActorSpec[] = Array.from({ length: o.stores ?? 1 }, () => ({ def: storeActor, opts: o.storeOpts ?? {} }));
  const host = await startHost({ natsUrl: server.url, cluster, actors: [...stores, ...withPodCleanup(o.actors ?? [])], leaseDurationMs: o.leaseDurationMs ?? 2000 });
  const nc = await connectNats(server.url, "spec-client");
  const store = new StoreClient(nc, cluster);
  const extra: Host[] = [];
  return {
    url: server.url,
    sysUrl: server.sysUrl,
    cluster,
    nc,
    store,
    server,
    host,
    async startActors(actors) {
      const h = await startHost({ natsUrl: server.url, cluster, actors: withPodCleanup(actors), leaseDurationMs: o.leaseDurationMs ?? 2000 });
      extra.push(h);
      return h;
    },
    async stop() {
      for (const h of extra.reverse()) await h.stop();
      await host.stop();
      await nc.close();
      await server.stop();
    },
  };
}

/** Kubelets stop their pods when they stop, unless the spec set `stopPodsOnExit` itself. */
export function withPodCleanup(actors: ActorSpec[]): ActorSpec[] {
  return actors.map((a) => (a.def.kind === "kubelet" ? { ...a, opts: { stopPodsOnExit: true, ...(a.opts ?? {}) } } : a));
}

/** Polls until the predicate holds (no fixed sleeps in specs). */
export async function waitFor<T>(fn: () => T | Promise<T>, o: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (o.timeoutMs ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${o.what ?? "condition"}${last ? `: ${(last as Error).message}` : ""}`);
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 25));
  }
}
