/**
 * The peer comparison on one Docker engine: a Flotilla Deployment of N busybox replicas until all
 * are Running, vs `docker service create --replicas N` in Docker Swarm (a private dockerd, see
 * swarm.ts) with its tasks not networked, on a bridge (like for like with a pod's sandbox) and on
 * an overlay network, vs N plain `docker run -d` with 8 in parallel — the engine's own limit — and
 * N create + start through the engine API at parallelism 1, 2, 4, 8 and 16.
 *
 * @example
 *   await benchDockerPeer({ replicas: 50 });   // { flotillaS, swarm: [{ shape, seconds? , note? }], dockerRunS, concurrency, … }
 */
import { spawnUp } from "./lib/cluster-process.ts";
import { ensureBusyboxImageSync, BUSYBOX_IMAGE } from "../actors/kubelet/engines/busybox-image.ts";
import { dockerAnswers } from "../cli/up.ts";
import { docker, startPrivateDockerd, swarmInit, hostRulesFor, SWARM_ADDRESSES } from "./swarm.ts";
import Docker from "dockerode";
import { pathToFileURL } from "node:url";

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
    await removeLabelled(host, label);
  }
}

async function removeLabelled(host: string | undefined, label: string): Promise<void> {
  const ids = (await docker(host, ["ps", "-aq", "--filter", `label=${label}`])).split("\n").filter(Boolean);
  if (ids.length) await docker(host, ["rm", "-f", ...ids]);
}

/** How Swarm's tasks are networked: not at all (`--bridge=none`), on the engine's bridge (as a pod's sandbox is), or on an overlay network of the service. */
export type SwarmShape = "none" | "bridge" | "overlay";

export const SWARM_SHAPES: readonly SwarmShape[] = ["none", "bridge", "overlay"];

async function waitRunning(host: string, service: string, replicas: number, t0: number, timeoutMs: number): Promise<void> {
  for (;;) {
    const states = (await docker(host, ["service", "ps", service, "--filter", "desired-state=running", "--format", "{{.CurrentState}}"])).split("\n");
    if (states.filter((s) => s.startsWith("Running")).length >= replicas) return;
    if (performance.now() - t0 > timeoutMs) {
      const errors = (await docker(host, ["service", "ps", service, "--no-trunc", "--format", "{{.Error}}"]).catch(() => "")).split("\n").filter(Boolean);
      throw new Error(`Swarm did not run ${replicas} replicas in ${timeoutMs / 1000} s${errors.length ? `: ${errors[0]}` : ""}`);
    }
    await sleep(100);
  }
}

/** One Swarm service of `replicas` on a private dockerd of the shape's networking; seconds until all are Running. */
export async function swarmService(replicas: number, shape: SwarmShape = "none", timeoutMs = 180_000): Promise<number> {
  const d = await startPrivateDockerd({ network: shape === "none" ? "none" : "bridge" });
  try {
    await swarmInit(d);
    ensureBusyboxImageSync(BUSYBOX_IMAGE, d.host);
    const net: string[] = [];
    if (shape === "overlay") {
      await docker(d.host, ["network", "create", "--driver", "overlay", "--subnet", SWARM_ADDRESSES.overlay, "bench-peer"]);
      net.push("--network", "bench-peer");
    }
    const t0 = performance.now();
    await docker(d.host, ["service", "create", "--detach", "--replicas", String(replicas), "--name", "bench-peer", ...net, BUSYBOX_IMAGE, "sleep", "3600"]);
    await waitRunning(d.host, "bench-peer", replicas, t0, timeoutMs);
    const seconds = (performance.now() - t0) / 1000;
    await docker(d.host, ["service", "rm", "bench-peer"]).catch(() => undefined);
    return seconds;
  } finally {
    await d.stop();
  }
}

/**
 * The engine's best concurrency: `n` busybox containers created and started through the engine API
 * (dockerode, as the kubelet does; on the default bridge, as a pod's sandbox is) at each parallelism.
 */
export async function engineConcurrency(n: number, levels: readonly number[] = [1, 2, 4, 8, 16]): Promise<{ parallel: number; seconds: number }[]> {
  const d = new Docker();
  const labels = { "flotilla-bench-concurrency": String(process.pid) };
  const label = `flotilla-bench-concurrency=${process.pid}`;
  const out: { parallel: number; seconds: number }[] = [];
  try {
    for (const parallel of levels) {
      const t0 = performance.now();
      await pool(n, parallel, async () => {
        const c = await d.createContainer({ Image: BUSYBOX_IMAGE, Cmd: ["sleep", "3600"], Labels: labels, HostConfig: { Init: true } });
        await c.start();
      });
      out.push({ parallel, seconds: (performance.now() - t0) / 1000 });
      await removeLabelled(undefined, label);
    }
    return out;
  } finally {
    await removeLabelled(undefined, label);
  }
}

export interface SwarmRun {
  shape: SwarmShape;
  seconds?: number;
  /** Why it was not measured. */
  note?: string;
}

export interface DockerPeer {
  replicas: number;
  flotillaS: number;
  dockerRunS: number;
  /** Parallelism of the `docker run` figure. */
  dockerRunParallel?: number;
  /** N containers created and started at each parallelism (engineConcurrency). */
  concurrency?: { parallel: number; seconds: number }[];
  /** How many containers each concurrency level started. */
  concurrencyN?: number;
  swarm: SwarmRun[];
  /** Host iptables rules that mention the private engine's ranges after the Swarm runs (none expected). */
  hostRules?: string[];
}

export async function benchDockerPeer(o: { replicas: number; onProgress?: Progress; concurrencyN?: number }): Promise<DockerPeer> {
  if (!(await dockerAnswers(3000))) throw new Error("no Docker engine answers (start dockerd --live-restore)");
  ensureBusyboxImageSync(BUSYBOX_IMAGE);
  const dockerRunS = await dockerRuns(o.replicas);
  o.onProgress?.(0.1, `${o.replicas} × docker run`);
  const concurrencyN = o.concurrencyN ?? Math.min(o.replicas, 32);
  const concurrency = await engineConcurrency(concurrencyN);
  o.onProgress?.(0.3, "create + start at parallelism 1 … 16");
  const flotillaS = await flotillaDeployment(o.replicas);
  o.onProgress?.(0.6, `Flotilla Deployment of ${o.replicas}`);
  const swarm: SwarmRun[] = [];
  for (const [i, shape] of SWARM_SHAPES.entries()) {
    try {
      swarm.push({ shape, seconds: await swarmService(o.replicas, shape) });
    } catch (e) {
      swarm.push({ shape, note: `Swarm (${shape}) skipped: ${(e as Error).message.trim().split("\n").slice(-1)[0]}` });
    }
    o.onProgress?.(0.6 + (0.4 * (i + 1)) / SWARM_SHAPES.length, `Docker Swarm, tasks networked: ${shape}`);
  }
  const hostRules = await hostRulesFor().catch(() => undefined);
  return { replicas: o.replicas, flotillaS, dockerRunS, dockerRunParallel: 8, concurrency, concurrencyN, swarm, hostRules };
}

/** `node --import tsx bench/docker-peer.ts [replicas]`: the peer comparison alone, as JSON on stdout. */
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const replicas = Number(process.argv[2] ?? 50);
  benchDockerPeer({ replicas, onProgress: (f, what) => process.stderr.write(`${Math.round(f * 100)}% ${what}\n`) })
    .then((r) => process.stdout.write(JSON.stringify(r, null, 2) + "\n"))
    .catch((e) => {
      process.stderr.write(`docker-peer failed: ${(e as Error).message}\n`);
      process.exit(1);
    });
}
