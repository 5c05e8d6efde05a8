/**
 * The peer comparison on one Docker engine: a Flotilla Deployment of N busybox replicas until all
 * are Running, vs `docker service create --replicas N` in Docker Swarm (a private dockerd, see
 * swarm.ts), vs N plain `docker run -d` with 8 in parallel — the engine's own limit.
 *
 * @example
 *   await benchDockerPeer({ replicas: 50 });   // { flotillaS, swarmS?, swarmNote?, dockerRunS, … }
 */
import { spawnUp } from "./lib/cluster-process.ts";
import { ensureBusyboxImageSync, BUSYBOX_IMAGE } from "../actors/kubelet/engines/busybox-image.ts";
import { dockerAnswers } from "../cli/up.ts";
import { docker, startPrivateDockerd } from "./swarm.ts";

type Progress = (f: number, what: string) => void;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function pool(n: number, inFlight: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < n) await fn(next++);
  }));
}

export async function flotillaDeployment(replicas: number, timeoutMs = 180_000): Promise<number> {
  const c = await spawnUp({ nodes: 1, engine: "docker" });
  const path = "/apis/apps/v1/namespaces/default/deployments";
  const pods = "/api/v1/namespaces/default/pods?labelSelector=app%3Dbench-peer";
  try {
    const t0 = performance.now();
    const r = await c.api.request("POST", path, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "bench-peer" },
      spec: {
        replicas,
        selector: { matchLabels: { app: "bench-peer" } },
        template: {
          metadata: { labels: { app: "bench-peer" } },
          spec: { terminationGracePeriodSeconds: 0, containers: [{ name: "c", image: BUSYBOX_IMAGE, imagePullPolicy: "IfNotPresent", command: ["sleep", "3600"] }] },
        },
      },
    });
    if (r.status !== 201) throw new Error(`create Deployment: HTTP ${r.status} ${r.text.slice(0, 200)}`);
    const running = async () => {
      const list = JSON.parse((await c.api.request("GET", pods)).text) as { items: { status?: { phase?: string } }[] };
      return list.items.filter((p) => p.status?.phase === "Running").length;
    };
    while ((await running()) < replicas) {
      if (performance.now() - t0 > timeoutMs) throw new Error(`fewer than ${replicas} pods Running after ${timeoutMs / 1000} s`);
      await sleep(100);
    }
    const seconds = (performance.now() - t0) / 1000;
    await c.api.request("DELETE", `${path}/bench-peer?propagationPolicy=Foreground`);
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && (JSON.parse((await c.api.request("GET", pods)).text) as { items: unknown[] }).items.length > 0) await sleep(250);
    return seconds;
  } finally {
    await c.stop();
  }
}

export async function dockerRuns(n: number, parallel = 8, host?: string): Promise<number> {
  const label = `flotilla-bench-run=${process.pid}`;
  const t0 = performance.now();
  try {
    await pool(n, parallel, (i) => docker(host, ["run", "-d", "--label", label, "--name", `flotilla-bench-run-${process.pid}-${i}`, BUSYBOX_IMAGE, "sleep", "3600"]));
    return (performance.now() - t0) / 1000;
  } finally {
    const ids = (await docker(host, ["ps", "-aq", "--filter", `label=${label}`])).split("\n").filter(Boolean);
    if (ids.length) await docker(host, ["rm", "-f", ...ids]);
  }
}

export async function swarmService(replicas: number, timeoutMs = 180_000): Promise<number> {
  const d = await startPrivateDockerd();
  try {
    await docker(d.host, ["swarm", "init", "--advertise-addr", "127.0.0.1"]);
    ensureBusyboxImageSync(BUSYBOX_IMAGE, d.host);
    const t0 = performance.now();
    await docker(d.host, ["service", "create", "--detach", "--replicas", String(replicas), "--name", "bench-peer", BUSYBOX_IMAGE, "sleep", "3600"]);
    for (;;) {
      const states = (await docker(d.host, ["service", "ps", "bench-peer", "--filter", "desired-state=running", "--format", "{{.CurrentState}}"])).split("\n");
      if (states.filter((s) => s.startsWith("Running")).length >= replicas) break;
      if (performance.now() - t0 > timeoutMs) throw new Error(`Swarm did not run ${replicas} replicas in ${timeoutMs / 1000} s`);
      await sleep(100);
    }
    const seconds = (performance.now() - t0) / 1000;
    await docker(d.host, ["service", "rm", "bench-peer"]).catch(() => undefined);
    return seconds;
  } finally {
    await d.stop();
  }
}

export interface DockerPeer {
  replicas: number;
  flotillaS: number;
  dockerRunS: number;
  swarmS?: number;
  swarmNote?: string;
}

export async function benchDockerPeer(o: { replicas: number; onProgress?: Progress }): Promise<DockerPeer> {
  if (!(await dockerAnswers(3000))) throw new Error("no Docker engine answers (start dockerd --live-restore)");
  ensureBusyboxImageSync(BUSYBOX_IMAGE);
  const dockerRunS = await dockerRuns(o.replicas);
  o.onProgress?.(0.2, `${o.replicas} × docker run`);
  const flotillaS = await flotillaDeployment(o.replicas);
  o.onProgress?.(0.6, `Flotilla Deployment of ${o.replicas}`);
  let swarmS: number | undefined;
  let swarmNote: string | undefined;
  try {
    swarmS = await swarmService(o.replicas);
  } catch (e) {
    swarmNote = `Swarm skipped: ${(e as Error).message}`;
  }
  o.onProgress?.(1, "Docker Swarm");
  return { replicas: o.replicas, flotillaS, dockerRunS, swarmS, swarmNote };
}
