/**
 * The deployment controller (leader-elected): Deployments → ReplicaSets. Informers (deployments,
 * replicasets) only enqueue Deployment keys; `reconcileDeployment` decides, this file executes
 * through the store with CAS (a Conflict re-reads via the informer and retries with back-off).
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: deploymentController }, { def: replicationController }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { Deployment, ReplicaSet } from "../../bus/resources.ts";
import type { DeployCommand } from "./deployment.ts";
import { Informer, keyFor, splitKey } from "../../runtime/informer.ts";
import { WorkQueue } from "../../runtime/workqueue.ts";
import { ErrorCode, isCode } from "../../bus/errors.ts";
import { matchesSelector } from "../../bus/selectors.ts";
import { controllerRef } from "../replication-controller/pods.ts";
import { reconcileDeployment } from "./deployment.ts";
import { equalIgnoreHash } from "./template.ts";
import { recordEvent } from "../../runtime/events.ts";

export interface DeploymentControllerOptions {
  concurrency?: number;
}

export async function startDeploymentController(ctx: ActorContext, opts: DeploymentControllerOptions = {}): Promise<Actor> {
  const log = ctx.log;
  const deployments = new Informer<Deployment>(ctx.nc, ctx.cluster, { resource: "deployments", log: log.child({ informer: "deployments" }) });
  const sets = new Informer<ReplicaSet>(ctx.nc, ctx.cluster, { resource: "replicasets", log: log.child({ informer: "replicasets" }) });

  // No key is worked on before every informer has its initial list: a partial cache would look
  // like missing pods (and make duplicates).
  let markSynced!: () => void;
  const synced = new Promise<void>((r) => (markSynced = r));
  const queue = new WorkQueue(
    async (key) => {
      await synced;
      const { namespace, name } = splitKey(key);
      const d = deployments.get(namespace, name);
      if (!d) return;
      const decision = reconcileDeployment(d, sets.list(namespace), ctx.now());
      let current: Deployment = d;
      let retry = false;
      for (const c of decision.commands) {
        const r = await execute(ctx, current, c, (ns, name) => sets.get(ns, name));
        if (r.deployment) current = r.deployment;
        retry ||= r.retry;
      }
      if (retry) queue.addAfter(key, 100);
      else if (decision.requeueAfterMs !== undefined) queue.addAfter(key, decision.requeueAfterMs);
    },
    { log, concurrency: opts.concurrency ?? 4, baseDelayMs: 50, maxDelayMs: 5000 },
  );

  const deploymentsFor = (rs: ReplicaSet): string[] => {
    const ns = rs.metadata.namespace!;
    const ref = controllerRef(rs);
    if (ref) return ref.kind === "Deployment" ? [`${ns}/${ref.name}`] : [];
    return deployments.list(ns).filter((d) => matchesSelector(d.spec.selector, rs.metadata.labels)).map(keyFor);
  };
  deployments.addHandlers({
    add: (d) => queue.add(keyFor(d)),
    update: (_o, d) => queue.add(keyFor(d)),
    delete: (d) => queue.add(keyFor(d)),
  });
  sets.addHandlers({
    add: (rs) => deploymentsFor(rs).forEach((k) => queue.add(k)),
    update: (o, rs) => new Set([...deploymentsFor(o), ...deploymentsFor(rs)]).forEach((k) => queue.add(k)),
    delete: (rs) => deploymentsFor(rs).forEach((k) => queue.add(k)),
  });

  await Promise.all([deployments.start(), sets.start()]);
  markSynced();
  log.info("deployment controller started", { deployments: deployments.list().length });
  return {
    async stop() {
      deployments.stop();
      sets.stop();
      await queue.shutdown();
    },
  };
}

/** Runs one command; returns the Deployment as last written (for the next write's CAS). */
async function execute(
  ctx: ActorContext,
  d: Deployment,
  c: DeployCommand,
  cachedSet: (ns: string, name: string) => ReplicaSet | undefined,
): Promise<{ deployment?: Deployment; retry: boolean }> {
  const ns = d.metadata.namespace!;
  switch (c.type) {
    case "rs.create":
      try {
        await ctx.store.create("replicasets", ns, c.rs);
        if ((c.rs.spec.replicas ?? 0) > 0) void scalingEvent(ctx, d, c.rs.metadata.name!, 0, c.rs.spec.replicas ?? 0);
        return { retry: false };
      } catch (e) {
        if (!isCode(e, ErrorCode.AlreadyExists)) throw e;
        // Ours already (the cache was behind) — or a hash collision: bump collisionCount for a new name.
        const existing = await ctx.store.get<ReplicaSet>("replicasets", ns, c.rs.metadata.name!);
        const ours = controllerRef(existing)?.uid === d.metadata.uid && equalIgnoreHash(existing.spec.template, d.spec.template);
        if (ours) return { retry: true };
        const status = { ...(d.status ?? {}), collisionCount: (d.status?.collisionCount ?? 0) + 1 };
        ctx.log.warn("ReplicaSet name collision", { deployment: keyFor(d), replicaset: c.rs.metadata.name, collisionCount: status.collisionCount });
        return { deployment: (await ctx.store.updateStatus("deployments", { ...d, status })) as Deployment, retry: true };
      }
    case "rs.update":
      try {
        const before = cachedSet(ns, c.rs.metadata.name!)?.spec.replicas ?? 0;
        await ctx.store.update("replicasets", c.rs);
        const after = c.rs.spec.replicas ?? 0;
        if (after !== before) void scalingEvent(ctx, d, c.rs.metadata.name!, before, after);
      } catch (e) {
        if (!isCode(e, ErrorCode.NotFound)) throw e;
      }
      return { retry: false };
    case "rs.delete":
      try {
        await ctx.store.delete("replicasets", c.namespace, c.name, { preconditions: { uid: c.uid } });
      } catch (e) {
        if (!isCode(e, ErrorCode.NotFound) && !isCode(e, ErrorCode.Conflict)) throw e;
      }
      return { retry: false };
    case "deployment.annotate":
      return { deployment: (await ctx.store.update("deployments", { ...d, metadata: { ...d.metadata, annotations: c.annotations } })) as Deployment, retry: false };
    case "deployment.status":
      return { deployment: (await ctx.store.updateStatus("deployments", { ...d, status: c.status })) as Deployment, retry: false };
  }
}

export const deploymentController: ActorDefinition<DeploymentControllerOptions> = {
  kind: "deployment-controller",
  leaderElected: true,
  start: (ctx, opts) => startDeploymentController(ctx, opts ?? {}),
};
export default deploymentController;

/** Kubernetes' ScalingReplicaSet event on the Deployment ("Scaled up replica set web-5d4 to 3 from 1"). */
function scalingEvent(ctx: ActorContext, d: Deployment, rs: string, from: number, to: number): Promise<void> {
  const verb = to > from ? "up" : "down";
  return recordEvent(ctx.store, {
    involved: { kind: "Deployment", apiVersion: "apps/v1", namespace: d.metadata.namespace, name: d.metadata.name, uid: d.metadata.uid },
    type: "Normal",
    reason: "ScalingReplicaSet",
    message: `Scaled ${verb} replica set ${rs} to ${to} from ${from}`,
    source: { component: "deployment-controller" },
  });
}
