/**
 * The kubelet actor: registers its Node, renews its Lease, watches the pods bound to it (one
 * informer filtered on spec.nodeName), converges them through an engine (NodeAgent), serves logs,
 * and fences itself: unable to renew its Lease for the lease's duration (cut off from NATS, store
 * unreachable), it stops the containers of the pods that must never run twice (StatefulSet pods,
 * pods with claims: fence.ts), the others running on as in Kubernetes; renewing again, it re-lists,
 * starts only what the store still binds to it and stops what was deleted meanwhile.
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: kubelet, opts: { nodeName: "n1", engine: "process" } }] });
 */
import type { ActorDefinition, ActorContext, Actor } from "../../runtime/actor.ts";
import type { Pod, Node, Taint, Labels } from "../../bus/resources.ts";
import type { EngineName } from "./engines/types.ts";
import { Informer, keyFor } from "../../runtime/informer.ts";
import { VERSION } from "../../runtime/actor.ts";
import { createEngine } from "./engines/factory.ts";
import { NodeAgent } from "./agent.ts";
import { registerNode, heartbeatNode, LeaseKeeper } from "./node-status.ts";
import type { NodeFacts } from "./node-status.ts";
import { serveLogs } from "./logs.ts";
import { serveSessions } from "./sessions.ts";
import { DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_MAX_MS } from "./backoff.ts";
import { fenceDue, FENCE_CHECK_MS } from "./fence.ts";
import type { NetworkMode } from "./network.ts";
import { nodeNetwork } from "./network.ts";
import { join } from "node:path";
import { PodTokens } from "./volumes/pod-tokens.ts";
import { VolumeManager } from "./volumes/manager.ts";
import { VolumeSources } from "./volumes/sources.ts";
import { defaultDataDir } from "./engines/process.ts";
import { isCode, ErrorCode } from "../../bus/errors.ts";
import { startMetricsReporter } from "./metrics.ts";
import { startLocalPathProvisioner } from "../local-path-provisioner/index.ts";
import { StaticPodSource } from "./static-pod-source.ts";
import { MirrorPods } from "./mirror-pods.ts";
import { isMirrorPod, isStaticPod, mirrors as mirrors_ } from "./static-pods.ts";

export interface KubeletOptions {
  nodeName: string;
  engine: EngineName;
  labels?: Labels;
  taints?: Taint[];
  capacity?: { cpu?: string | number; memory?: string | number; pods?: string | number };
  dataDir?: string;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  leaseDurationSeconds?: number;
  renewIntervalMs?: number;
  /** How often the Node status (lastHeartbeatTime) is rewritten; the Lease is the real heartbeat. */
  nodeStatusIntervalMs?: number;
  /**
   * Every pod bound here, and every container the engine holds, is synced again this often
   * (default 10 s; the kubelet's sync frequency), so an exit whose engine event went missing is
   * still noticed.
   */
  resyncIntervalMs?: number;
  startLatencyMs?: number;
  hostIP?: string;
  dockerSocket?: string;
  /**
   * Docker engine: how many sandboxes and containers are created and started at once (default
   * DEFAULT_DOCKER_START_CONCURRENCY, the level at which the engine was measured fastest; 0: no limit).
   */
  dockerStartConcurrency?: number;
  /** The CRI runtime's unix socket, for engine "cri" (a containerd with its CRI plugin). */
  criSocket?: string;
  /**
   * Stop this node's containers when the kubelet stops (what `flotilla up` does on Ctrl-C, so a
   * stopped laptop cluster leaves nothing running; the pods start again with the next `up`). Off by
   * default: a restarted kubelet re-adopts its running containers.
   */
  stopPodsOnExit?: boolean;
  /**
   * `pod`: every pod in a network namespace of its own with an address from the Node's podCIDR,
   * host-gw routes to the other nodes, and a resolv.conf per pod (process engine, root; the Docker
   * engine puts pods on a per-node Docker bridge network with the podCIDR instead); without
   * root or namespaces it falls back to loopback and the Node says so. `loopback` (default): pods
   * share the host's network. See docs/networking.md.
   */
  network?: NetworkMode;
  /** Pod networking: the cluster's pod range (default 10.244.0.0/16). */
  clusterCIDR?: string;
  /** Pod networking: the cluster DNS written into pods' resolv.conf (default 10.96.0.10). */
  clusterDNS?: string[];
  clusterDomain?: string;
  /** Pod networking: the node bridge (default `flt0`; nodes sharing a machine need one each). */
  podBridge?: string;
  /** Pod networking: the node's side lives in this network namespace (test hosts). */
  nodeNetns?: string;
  /**
   * The directory of static pod manifests (default `<dataDir>/manifests`; false: none). Its pods
   * run without the API and are published as mirror pods once it can be reached (static-pods.ts).
   */
  staticPodPath?: string | false;
  /** How often usage is sampled and published on `…metrics.<node>` (default 10 s; metrics.ts). */
  metricsIntervalMs?: number;
}

const NODE_STATUS_INTERVAL_MS = 60_000;

export async function startKubelet(ctx: ActorContext, opts: KubeletOptions): Promise<Actor> {
  const { nodeName } = opts;
  const log = ctx.log.child({ node: nodeName });
  const net = await nodeNetwork(ctx, { ...opts, network: opts.network }, log);
  const engine = createEngine({ engine: opts.engine, cluster: ctx.cluster, nodeName, dataDir: opts.dataDir, startLatencyMs: opts.startLatencyMs, dockerSocket: opts.dockerSocket, dockerStartConcurrency: opts.dockerStartConcurrency, criSocket: opts.criSocket, log, network: net.pods, dockerNetwork: net.docker });
  await engine.init();
  if (engine.name === "docker" && !net.docker && !engine.nodeAddressForPods) log.warn("the Docker bridge address is unknown: pods reach Services only once a sandbox reports its gateway");
  const leaseSeconds = opts.leaseDurationSeconds ?? 10;
  const facts: NodeFacts = {
    nodeName,
    engine: engine.name,
    engineVersion: VERSION,
    runtimeVersion: engine.runtimeVersion,
    labels: opts.labels,
    taints: opts.taints,
    capacity: opts.capacity,
    hostIP: opts.hostIP ?? "127.0.0.1",
    podFacingIP: engine.nodeAddressForPods,
    kubeletVersion: `v1.32.0-flotilla.${VERSION}`,
    network: net.facts,
  };

  const makeInformer = () => new Informer<Pod>(ctx.nc, ctx.cluster, { resource: "pods", filter: (p) => p.spec?.nodeName === nodeName, log });
  let informer = makeInformer();
  let apiPodsKnown = false;
  let mirrors: MirrorPods | undefined;
  const volumes =
    engine.name === "simulated"
      ? undefined
      : new VolumeManager({
          root: join(opts.dataDir ?? defaultDataDir(), "kubelet", ctx.cluster, nodeName, "volumes"),
          store: ctx.store,
          log,
          memoryAsTmpfs: (engine.name === "docker" || engine.name === "cri") && process.getuid?.() === 0,
          tokens: new PodTokens({ nc: ctx.nc, subjects: ctx.subjects, nodeName, now: ctx.now, log }),
        });
  let sources: VolumeSources | undefined;
  // Static pods: read from files before anything else, run without the API (static-pods.ts).
  const staticDir = opts.staticPodPath === false ? undefined : (opts.staticPodPath ?? join(opts.dataDir ?? defaultDataDir(), "manifests"));
  const statics = staticDir
    ? new StaticPodSource({ dir: staticDir, nodeName, log, onChange: (keys) => keys.forEach((k) => (agent.queue.add(k), mirrors?.enqueue(k))) })
    : undefined;
  /** What runs under a key: a static pod (with its mirror's last status), else the API's pod (never a mirror). */
  const podFor = (ns: string, name: string): Pod | undefined => {
    const s = statics?.get(ns, name);
    const stored = informer.get(ns, name);
    if (s) return stored && mirrors_(stored, s) ? { ...s, status: stored.status } : s;
    return stored && isMirrorPod(stored) ? undefined : stored;
  };
  const agent = new NodeAgent({
    volumes,
    trackVolumeSources: (key, pod) => sources?.track(key, pod),
    nodeName,
    hostIP: facts.hostIP,
    engine,
    store: ctx.store,
    log,
    backoff: { baseMs: opts.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS, maxMs: opts.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS },
    getPod: podFor,
    statusObject: (p) => {
      if (!isStaticPod(p)) return p;
      const stored = informer.get(p.metadata.namespace!, p.metadata.name!);
      return stored && mirrors_(stored, p) ? stored : undefined;
    },
    staticPod: (ns, name) => statics?.get(ns, name),
    apiPodsKnown: () => apiPodsKnown,
    now: ctx.now,
    dns: net.dns,
  });
  await statics?.start();
  for (const p of statics?.list() ?? []) agent.enqueue(p);

  let stopped = false;
  const cleanups: (() => void | Promise<void>)[] = [];
  let fenced = false;
  let fencing: Promise<void> = Promise.resolve();
  let unfencing: Promise<void> | undefined;

  /** Everything that needs the API: the Node, its Lease, the pods bound here, mirror pods, logs, fencing. */
  const joinApi = async (retry: boolean) => {
    let node: Node | undefined;
    for (let waited = false; !node; ) {
      try {
        node = await registerNode(ctx.store, facts, ctx.now());
      } catch (e) {
        if (!retry || !(isCode(e, ErrorCode.Unavailable) || isCode(e, ErrorCode.Timeout))) throw e;
        if (!waited) log.info("the API is not reachable yet: running static pods meanwhile", { error: (e as Error).message });
        waited = true;
        await new Promise((r) => setTimeout(r, 500));
        if (stopped) return;
      }
    }
    if (stopped) return;
    const leases = new LeaseKeeper(ctx.store, { durationSeconds: leaseSeconds, renewIntervalMs: opts.renewIntervalMs ?? Math.max(500, (leaseSeconds * 1000) / 4), log, now: ctx.now });
    leases.add(nodeName, node.metadata.uid);
    await leases.start();
    cleanups.push(() => leases.stop());
    if (statics) {
      const m = new MirrorPods({ store: ctx.store, node, getStatic: (ns, n) => statics.get(ns, n), getStored: (ns, n) => informer.get(ns, n), log });
      mirrors = m;
      cleanups.push(() => m.stop());
    }
    // The node side first: a restarted kubelet removes deleted pods' namespaces through it.
    await net.start(() => {
      heartbeatNode(ctx.store, facts, ctx.now()).catch((e) => log.warn("node status update failed", { error: (e as Error).message }));
      for (const p of informer.list()) agent.enqueue(p);
    });
    const watchPods = async (inf: Informer<Pod>) => {
      const changed = (p: Pod) => {
        agent.enqueue(p);
        mirrors?.enqueue(keyFor(p));
      };
      inf.addHandlers({ add: changed, update: (_o, p) => changed(p), delete: changed });
      await inf.start();
    };
    sources = volumes ? new VolumeSources(ctx.nc, ctx.subjects, (key) => agent.queue.add(key)) : undefined;
    cleanups.push(() => sources?.stop());
    await watchPods(informer);
    apiPodsKnown = true;
    // Pods that arrived with the first list waited for it (agent.ts): sync them now, not after a retry delay.
    for (const p of informer.list()) agent.enqueue(p);
    for (const p of statics?.list() ?? []) mirrors?.enqueue(keyFor(p));
    await agent.resyncEngine();
    const logs = serveLogs({ nc: ctx.nc, subjects: ctx.subjects, nodeName, engine, getPod: podFor, log });
    const sessions = serveSessions({ nc: ctx.nc, subjects: ctx.subjects, nodeName, engine, getPod: podFor, log });
    cleanups.push(() => logs.stop(), () => sessions.stop());
    // Node-local directories for PersistentVolumeClaims of the local-path class (not on hollow nodes).
    const localPath = volumes ? await startLocalPathProvisioner(ctx, { node: nodeName, root: join(opts.dataDir ?? defaultDataDir(), "storage", ctx.cluster, nodeName) }) : undefined;
    cleanups.push(() => localPath?.stop());
    const metrics = startMetricsReporter({ nc: ctx.nc, subjects: ctx.subjects, nodeName, engine, log, intervalMs: opts.metricsIntervalMs });
    cleanups.push(() => metrics.stop());

    const statusTimer = setInterval(() => {
      // An engine may learn its pod-facing address only with its first pod (docker-bridge.ts).
      facts.podFacingIP = engine.nodeAddressForPods;
      heartbeatNode(ctx.store, facts, ctx.now()).catch((e) => log.warn("node status update failed", { error: (e as Error).message }));
    }, opts.nodeStatusIntervalMs ?? NODE_STATUS_INTERVAL_MS);
    statusTimer.unref();
    cleanups.push(() => clearInterval(statusTimer));

    // Self-fencing: no lease renewal for the lease's duration (counted from when the last successful
    // renewal was sent: NATS lost, store unreachable, …) → stop the pods that must never run twice,
    // StatefulSet pods and pods with claims (fence.ts; the others keep running, static pods too);
    // renewing again → re-list and resync. The StatefulSet controller's fence rule (actors/statefulset-controller/fence.ts) relies on it.
    const fenceCheck = setInterval(() => {
      if (stopped || unfencing) return;
      const due = fenceDue(leases.renewedAt(nodeName), ctx.now(), leaseSeconds);
      if (due && !fenced) {
        fenced = true;
        agent.setFenced(true);
        log.warn("fenced: no lease renewal for the lease duration; stopping this node's StatefulSet pods and pods with volume claims", { leaseSeconds });
        fencing = agent.fence().catch((e) => log.error("fencing failed", { error: (e as Error).message }));
      } else if (!due && fenced) {
        unfencing = (async () => {
          await fencing;
          log.info("lease renewed after fencing: re-listing pods");
          // A fresh list: only what the store binds to this node now is started again. Until it
          // has come, no pod is known (a sync would take every running pod for a deleted one);
          // a list that fails leaves the node fenced, and the next check lists again.
          const old = informer;
          apiPodsKnown = false;
          informer = makeInformer();
          old.stop();
          try {
            await watchPods(informer);
          } catch (e) {
            log.error("re-list failed; still fenced, listing again", { error: (e as Error).message });
            return;
          }
          apiPodsKnown = true;
          fenced = false;
          agent.setFenced(false);
          for (const p of informer.list()) agent.enqueue(p);
          // Pods that kept running and were deleted meanwhile (evicted, replaced): stopped now.
          await agent.resyncEngine().catch((e) => log.warn("engine resync failed", { error: (e as Error).message }));
        })().finally(() => (unfencing = undefined));
      }
    }, FENCE_CHECK_MS);
    fenceCheck.unref();
    cleanups.push(() => clearInterval(fenceCheck));
    void (async () => {
      for await (const s of ctx.nc.status()) {
        if (stopped) break;
        if (s.type === "disconnect") log.warn("lost NATS; fencing pods if the lease cannot be renewed for its duration", { leaseSeconds });
      }
    })().catch(() => undefined);
  };

  const resyncTimer = setInterval(() => {
    for (const p of statics?.list() ?? []) agent.enqueue(p);
    if (!apiPodsKnown) return;
    for (const p of informer.list()) agent.enqueue(p);
    agent.resyncEngine().catch((e) => log.debug("periodic engine resync failed", { error: (e as Error).message }));
  }, opts.resyncIntervalMs ?? 10_000);
  resyncTimer.unref();

  const stopAll = async () => {
    stopped = true;
    clearInterval(resyncTimer);
    await unfencing;
    statics?.stop();
    for (const c of cleanups.splice(0).reverse()) await c();
    informer.stop();
    agent.setFenced(true);
    // No sync may still be starting a container once the pods are being stopped.
    await agent.stop();
    if (opts.stopPodsOnExit) await agent.stopEverything(true).catch((e) => log.error("stopping pods failed", { error: (e as Error).message }));
    await engine.close();
    await net.stop();
  };
  // With static pods the API may not exist yet (they may be the control plane): join it in the
  // background. Without, a kubelet that cannot register fails to start, as it always did.
  if (statics && statics.list().length > 0) {
    joinApi(true).catch((e) => ctx.crash(e));
  } else {
    try {
      await joinApi(false);
    } catch (e) {
      await stopAll().catch(() => undefined);
      throw e;
    }
  }

  return { stop: stopAll };
}

export const kubelet: ActorDefinition<KubeletOptions> = {
  kind: "kubelet",
  connectionName: (o) => `kubelet/${o.nodeName}`,
  identity: (o) => ({ role: "node", node: o.nodeName }),
  connectOptions: { pingInterval: 1000, maxPingOut: 2 },
  start: startKubelet,
};

export { startNodePool } from "./pool.ts";
export { keyFor };
