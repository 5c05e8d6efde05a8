/**
 * Runs the allocation repair pass (repair.ts) against KV: at start and every `intervalMs`, in the
 * one store replica that holds the Lease `kube-system/service-allocator-repair` (every replica runs
 * an elector; a standby takes over when the leader goes). Frees are CAS on the leaked key's
 * revision and claims are KV creates, so even two passes at once could not double an address; the
 * lease only keeps the Events from being reported twice.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { Service } from "../../bus/resources.ts";
import type { Buckets } from "../../bus/kv.ts";
import type { StoreClient } from "../../bus/store-client.ts";
import type { Logger } from "../../runtime/logger.ts";
import type { Allocator } from "./allocator.ts";
import type { RepairCommand, RepairMemory, RepairView } from "./repair.ts";
import { match } from "ts-pattern";
import { snapshotBucket, snapshotRaw, prefixOf, keyOf, decodeObject } from "../../bus/kv.ts";
import { EventRecorder } from "../../runtime/events.ts";
import { LeaderElector, leaseStore } from "../../runtime/leader.ts";
import { ALLOC_PREFIX, decodeOwner, heldKeys, ownerOf } from "./allocation.ts";
import { planRepair, emptyMemory } from "./repair.ts";

export const REPAIR_LEASE = "service-allocator-repair";
export const REPAIR_COMPONENT = "service-allocator-repair";

export interface RepairDeps {
  nc: NatsConnection;
  buckets: Buckets;
  allocator: Allocator;
  /** Where Events are written. */
  store: StoreClient;
  log: Logger;
  now: () => number;
}

export interface RepairLoopOptions {
  /** Time between passes (the first runs at once). */
  intervalMs: number;
  /** How long an unchanged key must look leaked before it is freed. */
  leakGraceMs: number;
  leaseDurationMs?: number;
  identity: string;
}

/** The Services, then the allocation keys (a Service claims before it lands, so never the other way round). */
export async function readRepairView(d: RepairDeps): Promise<RepairView> {
  const services = await snapshotBucket(d.nc, d.buckets.names.main, prefixOf("services"));
  const allocations = await snapshotRaw(d.nc, d.buckets.names.main, `${ALLOC_PREFIX}.>`);
  return {
    services: services.entries.map((e) => e.object as Service),
    allocations: allocations.entries.map((e) => ({ key: e.key, revision: e.revision, owner: decodeOwner(e.data) })),
    cidr: d.allocator.cidr,
  };
}

/** One pass: read, plan, act. Answers the memory for the next pass and what was done. */
export async function repairOnce(d: RepairDeps, memory: RepairMemory = emptyMemory(), leakGraceMs = 0): Promise<{ memory: RepairMemory; commands: RepairCommand[] }> {
  const view = await readRepairView(d);
  const plan = planRepair(view, memory, d.now(), leakGraceMs);
  const events = new EventRecorder({ store: d.store, source: { component: REPAIR_COMPONENT }, now: d.now, log: d.log });
  try {
    for (const c of plan.commands) await execute(d, c, events);
  } finally {
    await events.stop();
  }
  return plan;
}

async function execute(d: RepairDeps, c: RepairCommand, events: EventRecorder): Promise<void> {
  const event = async (e: { service: Service; reason: string; message: string }) =>
    events.record({ apiVersion: "v1", kind: "Service", namespace: e.service.metadata.namespace, name: e.service.metadata.name, uid: e.service.metadata.uid }, "Warning", e.reason, e.message);
  await match(c)
    .with({ type: "free" }, async (f) => {
      if (await d.allocator.free(f.key, f.revision)) d.log.info("freed a leaked allocation", { key: f.key });
    })
    .with({ type: "claim" }, async (cl) => {
      // Only for the Service as it is now: it may have changed since the list.
      const entry = await d.buckets.main.get(keyOf("services", cl.service.metadata.namespace, cl.service.metadata.name!)).catch(() => null);
      const now = entry?.operation === "PUT" ? (decodeObject(entry.value, entry.revision) as Service | undefined) : undefined;
      if (!now || now.metadata.uid !== cl.service.metadata.uid || !heldKeys(now).includes(cl.key)) return;
      if ((await d.allocator.create(cl.key, ownerOf(now))) !== undefined) await event(cl.event);
    })
    .with({ type: "event" }, async (e) => event(e.event))
    .exhaustive();
}

/** Repairs at start and every interval while this replica leads. */
export function startRepairLoop(d: RepairDeps, o: RepairLoopOptions): { stop(): Promise<void> } {
  let memory = emptyMemory();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  /** Bumped at every change of leadership, so a pass from an older term schedules nothing. */
  let term = 0;
  let leading = false;
  const loop = (mine: number) => {
    running = (async () => {
      try {
        memory = (await repairOnce(d, memory, o.leakGraceMs)).memory;
      } catch (e) {
        d.log.warn("allocation repair failed", { error: (e as Error).message });
      }
    })();
    void running.then(() => {
      if (!leading || mine !== term) return;
      timer = setTimeout(() => loop(mine), o.intervalMs);
      timer.unref?.();
    });
  };
  const elector = new LeaderElector({
    store: leaseStore(d.store),
    name: REPAIR_LEASE,
    identity: o.identity,
    leaseDurationMs: o.leaseDurationMs,
    log: d.log,
    onStarted: () => {
      leading = true;
      memory = emptyMemory();
      const mine = ++term;
      void running.then(() => {
        if (leading && mine === term) loop(mine);
      });
    },
    onStopped: () => {
      leading = false;
      term++;
      if (timer) clearTimeout(timer);
    },
  });
  elector.start();
  return {
    async stop() {
      leading = false;
      term++;
      if (timer) clearTimeout(timer);
      await elector.stop();
      await running;
    },
  };
}
