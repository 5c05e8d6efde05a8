/**
 * Node failure → replacement: three node processes (kubelet, simulated engine) and the control
 * plane (store, scheduler, replication + deployment controllers, node controller on the system
 * account); a Deployment of 3 pods; the process of a node running some of them is SIGKILLed (or
 * SIGSTOPped), and the clock runs until the Deployment again has all its pods Running, none of them
 * on that node.
 *
 * @example
 *   const { seconds } = await benchFailover({ mode: "kill" });   // goal ≤ 5 s (kill), ≤ 15 s (stop)
 *   // node --import tsx bench/failover.ts [kill|stop]
 */
import type { Deployment, Node, Pod } from "../bus/resources.ts";
import type { NodeProcess } from "./node-process.ts";
import { startNatsServer } from "../runtime/nats-server.ts";
import { startHost, connectNats } from "../runtime/host.ts";
import { StoreClient } from "../bus/store-client.ts";
import { storeActor } from "../actors/store/index.ts";
import { scheduler } from "../actors/scheduler/index.ts";
import { replicationController } from "../actors/replication-controller/index.ts";
import { deploymentController } from "../actors/deployment-controller/index.ts";
import { nodeController } from "../actors/node-controller/index.ts";
import { spawnNode } from "./node-process.ts";
import { runAsMain } from "./lib/main.ts";

export interface FailoverResult {
  seconds: number;
  mode: "kill" | "stop";
}

async function until<T>(fn: () => Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function benchFailover(o: { mode: "kill" | "stop"; replicas?: number }): Promise<FailoverResult> {
  process.env.FLOTILLA_LOG ??= "warn";
  const cluster = "bench-failover";
  const replicas = o.replicas ?? 3;
  const server = await startNatsServer({ port: 0 });
  const host = await startHost({
    natsUrl: server.url,
    cluster,
    leaseDurationMs: 2000,
    actors: [
      { def: storeActor },
      { def: scheduler },
      { def: replicationController },
      { def: deploymentController },
      { def: nodeController, opts: { sysNatsUrl: server.sysUrl } },
    ],
  });
  const nc = await connectNats(server.url, "bench-failover");
  const store = new StoreClient(nc, cluster);
  const nodes: NodeProcess[] = ["f1", "f2", "f3"].map((n) => spawnNode({ natsUrl: server.url, cluster, nodeName: n }));
  try {
    await until(async () => {
      const list = await store.list<Node>("nodes");
      const ready = list.items.filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") && !(n.spec.taints ?? []).length);
      return ready.length === nodes.length;
    }, 30_000, "3 Ready nodes");
    await store.create("deployments", "default", {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: {
        replicas,
        selector: { matchLabels: { app: "web" } },
        template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "busybox" }] } },
      },
    } as Deployment);
    const running = async (avoid?: string) => {
      const pods = (await store.list<Pod>("pods", "default", { labelSelector: "app=web" })).items;
      const ok = pods.filter((p) => !p.metadata.deletionTimestamp && p.status?.phase === "Running" && p.spec.nodeName !== avoid);
      return ok.length >= replicas ? ok : undefined;
    };
    const before = await until(() => running(), 30_000, "the Deployment's pods Running");
    const victimName = before[0]!.spec.nodeName!;
    const victim = nodes.find((n) => n.name === victimName)!;
    const t0 = Date.now();
    victim.kill(o.mode === "kill" ? "SIGKILL" : "SIGSTOP");
    await until(() => running(victimName), 60_000, `replacement pods off ${victimName}`);
    return { mode: o.mode, seconds: Math.round((Date.now() - t0) / 10) / 100 };
  } finally {
    for (const n of nodes) {
      n.kill("SIGCONT");
      n.kill("SIGKILL");
    }
    await Promise.all(nodes.map((n) => n.exited));
    await nc.close();
    await host.stop();
    await server.stop();
  }
}

runAsMain(import.meta.url, () => benchFailover({ mode: process.argv[2] === "stop" ? "stop" : "kill" }));
