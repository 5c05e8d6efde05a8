/**
 * Pod startup latency per engine: create → Running observed by a watch (an informer on pods),
 * p50 and p99 over `n` pods (default 100), created one after another on one kubelet. The cri
 * engine runs against a private containerd started for the run (actors/kubelet/engines/cri/).
 *
 * @example
 *   const r = await benchPodStartup("process");   // { p50Ms, p99Ms, n }
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import type { Pod } from "../bus/resources.ts";
import { Informer } from "../runtime/informer.ts";
import { startTestCluster } from "../specs/harness/cluster.ts";
import { ensureBusyboxImage, BUSYBOX_IMAGE } from "../specs/harness/images.ts";
import { kubelet } from "../actors/kubelet/index.ts";
import { latencies as histogram } from "./lib/hist.ts";
import { startContainerd } from "../actors/kubelet/engines/cri/containerd-process.ts";

export interface StartupResult {
  engine: string;
  p50Ms: number;
  p99Ms: number;
  n: number;
}


export type StartupEngine = "docker" | "process" | "simulated" | "cri";

export async function benchPodStartup(engine: StartupEngine, n = 100): Promise<StartupResult> {
  if (engine === "docker") await ensureBusyboxImage();
  const dataDir = mkdtempSync(join(tmpdir(), "flotilla-bench-kubelet-"));
  const nodeName = `bench-${engine}-${Date.now().toString(36)}`;
  // cri: a private containerd under the bench's data dir (its images imported from a local archive).
  const ctrd = engine === "cri" ? await startContainerd({ dataDir: join(dataDir, "containerd") }) : undefined;
  const cluster = await startTestCluster({ cluster: `bench${Date.now().toString(36)}` });
  const host = await cluster.startActors([{ def: kubelet, opts: { nodeName, engine, dataDir, ...(ctrd ? { criSocket: ctrd.socket } : {}) } }]);
  const informer = new Informer<Pod>(cluster.nc, cluster.cluster, { resource: "pods", filter: (p) => p.spec?.nodeName === nodeName });
  const createdAt = new Map<string, number>();
  const latencies: number[] = [];
  const waiters = new Map<string, () => void>();
  const seen = (p: Pod) => {
    const name = p.metadata.name!;
    const t0 = createdAt.get(name);
    if (t0 === undefined || p.status?.phase !== "Running") return;
    createdAt.delete(name);
    latencies.push(Date.now() - t0);
    waiters.get(name)?.();
  };
  informer.addHandlers({ add: seen, update: (_o, p) => seen(p) });
  await informer.start();
  try {
    for (let i = 0; i < n; i++) {
      const name = `startup-${i}`;
      const running = new Promise<void>((r) => waiters.set(name, r));
      createdAt.set(name, Date.now());
      await cluster.store.create("pods", "default", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: "default" },
        spec: {
          nodeName,
          terminationGracePeriodSeconds: 0,
          containers: [{ name: "c", image: engine === "docker" || engine === "cri" ? BUSYBOX_IMAGE : "busybox", imagePullPolicy: "IfNotPresent", command: ["sleep", "3600"] }],
        },
      });
      await running;
    }
    for (let i = 0; i < n; i++) await cluster.store.delete("pods", "default", `startup-${i}`, { gracePeriodSeconds: 1 }).catch(() => undefined);
    // Let the kubelet stop what it started before it goes.
    const deadline = Date.now() + 60_000;
    while (informer.list().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  } finally {
    informer.stop();
    await host.stop();
    await cluster.stop();
    await ctrd?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const h = histogram();
  for (const ms of latencies) h.record(ms);
  const r = { engine, p50Ms: h.percentile(50), p99Ms: h.percentile(99), n: h.count };
  h.destroy();
  return r;
}

// `node --import tsx bench/kubelet.ts [engine…]` runs it standalone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const engines = (process.argv.slice(2).length ? process.argv.slice(2) : ["simulated", "process", "docker", "cri"]) as StartupEngine[];
  for (const e of engines) {
    try {
      console.log(JSON.stringify(await benchPodStartup(e)));
    } catch (err) {
      console.log(JSON.stringify({ engine: e, error: (err as Error).message }));
    }
  }
  process.exit(0);
}
