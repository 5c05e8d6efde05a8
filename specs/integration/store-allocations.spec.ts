/**
 * Service addresses under a storm: concurrent creates, updates (type and port changes, some from
 * stale copies) and deletes against two store replicas, one of which is killed midway. No address
 * may end up with two Services, and one repair pass must leave exactly the addresses live Services
 * hold in the allocation table.
 */
import { expect } from "chai";
import type { Event, Service, ServiceSpec } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import type { Host } from "../../runtime/host.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { storeActor } from "../../actors/store/index.ts";
import { StoreClient } from "../../bus/store-client.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { ensureBuckets, snapshotRaw, keyOf } from "../../bus/kv.ts";
import { BRIDGE_PORTS_ANNOTATION } from "../../bus/service-links.ts";
import { directKvWriter } from "../../actors/store/kv-writer.ts";
import { Allocator } from "../../actors/store/allocator.ts";
import { ipKey, nodePortKey, bridgePortKey } from "../../actors/store/allocation.ts";
import { repairOnce } from "../../actors/store/repair-loop.ts";
import { createLogger } from "../../runtime/logger.ts";

/** mulberry32: a seeded generator, so a failing storm replays the same way. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What a user sees a Service hold: its ClusterIP, its NodePorts and its bridge ports. */
function addressesOf(svc: Service): string[] {
  const out: string[] = [];
  if (svc.spec.type !== "ExternalName" && svc.spec.clusterIP && svc.spec.clusterIP !== "None") out.push(ipKey(svc.spec.clusterIP));
  if (svc.spec.type === "NodePort" || svc.spec.type === "LoadBalancer") for (const p of svc.spec.ports ?? []) if (p.nodePort) out.push(nodePortKey(p.nodePort));
  const bridge = svc.metadata.annotations?.[BRIDGE_PORTS_ANNOTATION];
  if (bridge) for (const p of Object.values(JSON.parse(bridge) as Record<string, number>)) out.push(bridgePortKey(p));
  return [...new Set(out)];
}

describe("store allocations", function () {
  this.timeout(180_000);
  let c: TestCluster;
  let replica: Host;
  before(async () => {
    // The spec runs the repair pass itself.
    c = await startTestCluster({ storeOpts: { repairIntervalMs: 0 } });
    replica = await c.startActors([{ def: storeActor, opts: { repairIntervalMs: 0 } }]);
  });
  after(async () => c?.stop());

  it("never gives one ClusterIP or NodePort to two Services through 200 racing writes and a killed replica, and one repair pass leaves no leak", async () => {
    const rand = prng(20260301);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const NAMES = Array.from({ length: 12 }, (_, i) => `s${i}`);
    const PORTS = Array.from({ length: 16 }, (_, i) => 30100 + i);
    const IPS = Array.from({ length: 10 }, (_, i) => `127.96.250.${i + 1}`);
    const client = new StoreClient(c.nc, c.cluster, 3000);
    const copies: Service[] = [];
    const outcomes = new Map<string, number>();
    const note = (what: string) => outcomes.set(what, (outcomes.get(what) ?? 0) + 1);

    const freshSpec = (): ServiceSpec => {
      const nodePort = rand() < 0.6;
      const ports = [{ name: "http", port: 80, ...(nodePort && rand() < 0.7 ? { nodePort: pick(PORTS) } : {}) }, ...(rand() < 0.4 ? [{ name: "https", port: 443 }] : [])];
      return { type: nodePort ? "NodePort" : "ClusterIP", selector: { app: "x" }, ports, ...(rand() < 0.3 ? { clusterIP: pick(IPS) } : {}) };
    };
    const changed = (cur: Service): Service => {
      const spec: ServiceSpec = { ...cur.spec, ports: (cur.spec.ports ?? []).map((p) => ({ ...p })) };
      const r = rand();
      if (spec.type === "NodePort" && r < 0.2) {
        spec.type = "ClusterIP";
        for (const p of spec.ports!) delete p.nodePort;
      } else if (spec.type === "NodePort" && r < 0.6) {
        spec.ports![0]!.nodePort = pick(PORTS);
      } else if (spec.type !== "NodePort" && r < 0.5) {
        spec.type = "NodePort";
        if (rand() < 0.5) spec.ports![0]!.nodePort = pick(PORTS);
      } else if (spec.ports!.length > 1) {
        spec.ports = spec.ports!.slice(0, 1);
      } else {
        const port = 8000 + Math.floor(rand() * 100);
        spec.ports!.push({ name: `p${port}`, port });
      }
      return { ...cur, spec };
    };
    const create = (name: string) => client.create<Service>("services", "default", { apiVersion: "v1", kind: "Service", metadata: { name }, spec: freshSpec() } as Service);
    for (const name of NAMES) copies.push(await waitFor(() => create(name).catch(() => undefined), { what: `service ${name}` }));
    const ops: (() => Promise<unknown>)[] = Array.from({ length: 200 }, () => {
      const name = pick(NAMES);
      const r = rand();
      if (r < 0.1) return () => create(name);
      if (r < 0.15) return () => client.delete("services", "default", name);
      // From a fresh read, from the last copy seen, or from the oldest copy (a stale
      // resourceVersion); often two writers at once from the same copy, so one of them loses.
      const from = rand();
      const twins = rand() < 0.5;
      return async () => {
        const mine = copies.filter((s) => s.metadata.name === name);
        const cur = from < 0.25 || !mine.length ? await client.get<Service>("services", "default", name) : from < 0.8 ? mine[mine.length - 1]! : mine[0]!;
        if (!twins) return client.update("services", changed(cur));
        const [a, b] = await Promise.allSettled([client.update<Service>("services", changed(cur)), client.update<Service>("services", changed(cur))]);
        if (a.status === "fulfilled") copies.push(a.value);
        if (b.status === "fulfilled") return b.value;
        if (a.status === "fulfilled") throw b.reason;
        throw a.reason;
      };
    });

    let done = 0;
    let killed = false;
    const worker = async () => {
      for (let op = ops.shift(); op; op = ops.shift()) {
        try {
          const out = (await op()) as Service;
          if (out?.kind === "Service") copies.push(out);
          note("ok");
        } catch (e) {
          note(e instanceof FlotillaError ? e.code : "error");
        }
        if (++done >= 100 && !killed) {
          killed = true;
          // A crash, not a drain: the replica's requests in flight die with its connection.
          await replica.actors[0]!.nc.close();
        }
      }
    };
    await Promise.all(Array.from({ length: 40 }, worker));
    expect(killed).to.equal(true);
    expect(outcomes.get(ErrorCode.Conflict) ?? 0, JSON.stringify([...outcomes])).to.be.greaterThan(0);
    expect(outcomes.get("ok") ?? 0, JSON.stringify([...outcomes])).to.be.greaterThan(20);

    const live = (await c.store.list<Service>("services")).items;
    const holders = new Map<string, string[]>();
    for (const svc of live) for (const a of addressesOf(svc)) holders.set(a, [...(holders.get(a) ?? []), svc.metadata.name!]);
    expect([...holders].filter(([, who]) => who.length > 1)).to.deep.equal([]);

    // Without any repair, every address a live Service holds is refused to a newcomer.
    const doubled: string[] = [];
    for (const [i, svc] of live.entries()) {
      const probes: ServiceSpec[] = [];
      if (svc.spec.clusterIP && svc.spec.clusterIP !== "None") probes.push({ type: "ClusterIP", clusterIP: svc.spec.clusterIP, ports: [{ port: 80 }] });
      if (svc.spec.type === "NodePort") for (const p of svc.spec.ports ?? []) probes.push({ type: "NodePort", ports: [{ port: 80, nodePort: p.nodePort }] });
      for (const [j, spec] of probes.entries()) {
        const name = `probe-${i}-${j}`;
        const got = await c.store.create("services", "default", { apiVersion: "v1", kind: "Service", metadata: { name }, spec } as Service).catch((e: FlotillaError) => e);
        if (!(got instanceof FlotillaError)) {
          doubled.push(`${svc.metadata.name} and ${name} share ${JSON.stringify(spec)}`);
          await c.store.delete("services", "default", name);
        } else expect(got.code, got.message).to.equal(ErrorCode.Invalid);
      }
    }
    expect(doubled).to.deep.equal([]);

    // Every address a live Service holds is in the allocation table (so no one else can claim it).
    const buckets = await ensureBuckets(c.nc, c.cluster);
    const before = new Set((await snapshotRaw(c.nc, buckets.names.main, "_alloc.>")).entries.map((e) => e.key));
    expect([...holders.keys()].filter((k) => !before.has(k))).to.deep.equal([]);

    const deps = { nc: c.nc, buckets, allocator: new Allocator(buckets.main, directKvWriter(c.nc, buckets)), store: c.store, log: createLogger("repair"), now: Date.now };
    await repairOnce(deps, undefined, 0);
    const table = (await snapshotRaw(c.nc, buckets.names.main, "_alloc.>")).entries.map((e) => e.key).sort();
    expect(table).to.deep.equal([...holders.keys()].sort());
  });

  describe("the repair loop", () => {
    let r: TestCluster;
    const svc = (name: string, created: string, spec: ServiceSpec, uid = `uid-${name}`): Service => ({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: "default", uid, creationTimestamp: created },
      spec: { selector: { app: name }, ...spec },
    });
    before(async () => {
      r = await startTestCluster({ cluster: "repair", storeOpts: { repairIntervalMs: 0 } });
      // State the store would never write: two Services on one ClusterIP, a NodePort held without
      // its key, and a key nobody holds.
      const b = await ensureBuckets(r.nc, r.cluster);
      const put = (o: Service) => b.main.put(keyOf("services", "default", o.metadata.name!), JSON.stringify(o));
      await put(svc("older", "2026-01-01T00:00:00Z", { type: "ClusterIP", clusterIP: "127.96.9.9", ports: [{ port: 80 }] }));
      await put(svc("younger", "2026-01-02T00:00:00Z", { type: "ClusterIP", clusterIP: "127.96.9.9", ports: [{ port: 80 }] }));
      await put(svc("unrecorded", "2026-01-03T00:00:00Z", { type: "NodePort", clusterIP: "127.96.9.10", ports: [{ port: 80, nodePort: 31000 }] }));
      await b.main.create(ipKey("127.96.9.9"), JSON.stringify({ owner: "default/older", uid: "uid-older" }));
      await b.main.create(ipKey("127.96.9.10"), JSON.stringify({ owner: "default/unrecorded", uid: "uid-unrecorded" }));
      await b.main.create(nodePortKey(31999), JSON.stringify({ owner: "default/gone", uid: "uid-gone" }));
      await r.startActors([{ def: storeActor, opts: { repairIntervalMs: 100, allocationLeakGraceMs: 300, repairLeaseMs: 1000 } }]);
    });
    after(async () => r?.stop());

    const events = async (reason: string) => (await r.store.list<Event>("events", "default")).items.filter((e) => e.reason === reason);

    it("reports a ClusterIP two Services hold on the younger one, once, re-records a NodePort held without its key and frees a leaked one", async () => {
      const dup = await waitFor(async () => (await events("ClusterIPAlreadyAllocated"))[0], { what: "ClusterIPAlreadyAllocated" });
      expect(dup.involvedObject).to.include({ kind: "Service", name: "younger" });
      expect(dup.type).to.equal("Warning");
      expect(dup.message).to.equal("Cluster IP [IPv4]: 127.96.9.9 was assigned to multiple services; please recreate service");
      const notAllocated = await waitFor(async () => (await events("PortNotAllocated"))[0], { what: "PortNotAllocated" });
      expect(notAllocated.involvedObject).to.include({ name: "unrecorded" });
      // The leak goes after its grace period, so several passes have run by then.
      const b = await ensureBuckets(r.nc, r.cluster);
      await waitFor(async () => (await b.main.get(nodePortKey(31999)))?.operation !== "PUT", { what: "the leaked NodePort to be freed" });
      expect(await events("ClusterIPAlreadyAllocated")).to.have.length(1);
      // What a user sees: the re-recorded port is refused, the freed one is given.
      const taken = await r.store.create("services", "default", svc("wants-31000", "", { type: "NodePort", ports: [{ port: 80, nodePort: 31000 }] })).catch((e: FlotillaError) => e);
      expect((taken as FlotillaError).code).to.equal(ErrorCode.Invalid);
      const freed = await r.store.create<Service>("services", "default", svc("wants-31999", "", { type: "NodePort", ports: [{ port: 80, nodePort: 31999 }] }));
      expect(freed.spec.ports![0]!.nodePort).to.equal(31999);
    });
  });

  describe("user input", () => {
    const svcOf = (name: string, spec: ServiceSpec, extra: Partial<Service["metadata"]> = {}): Service =>
      ({ apiVersion: "v1", kind: "Service", metadata: { name, ...extra }, spec: { selector: { app: name }, ...spec } }) as Service;

    it("cannot free another Service's NodePort or bridge port by naming it in the update that removes the last finalizer", async () => {
      const a = await c.store.create<Service>("services", "default", svcOf("holder", { type: "NodePort", ports: [{ port: 80 }] }));
      const aPort = a.spec.ports![0]!.nodePort!;
      const aBridge = a.metadata.annotations![BRIDGE_PORTS_ANNOTATION]!;
      await c.store.create("services", "default", svcOf("victim", { type: "NodePort", ports: [{ port: 80 }] }, { finalizers: ["example.com/hold"] }));
      await c.store.delete("services", "default", "victim");
      const marked = await c.store.get<Service>("services", "default", "victim");
      await c.store.update("services", {
        ...marked,
        metadata: { ...marked.metadata, finalizers: [], annotations: { [BRIDGE_PORTS_ANNOTATION]: aBridge } },
        spec: { ...marked.spec, ports: [{ ...marked.spec.ports![0]!, nodePort: aPort }] },
      });
      expect((await c.store.get("services", "default", "victim").catch((e: FlotillaError) => e) as FlotillaError).code).to.equal(ErrorCode.NotFound);
      const again = await c.store.create("services", "default", svcOf("again", { type: "NodePort", ports: [{ port: 80, nodePort: aPort }] })).catch((e: FlotillaError) => e);
      expect((again as FlotillaError).code, "the holder's NodePort was freed").to.equal(ErrorCode.Invalid);
      const b = await ensureBuckets(c.nc, c.cluster);
      for (const port of Object.values(JSON.parse(aBridge) as Record<string, number>)) expect((await b.main.get(bridgePortKey(port)))?.operation).to.equal("PUT");
    });

    it("keeps the bridge-ports annotation the store wrote whatever an update sends", async () => {
      const a = await c.store.create<Service>("services", "default", svcOf("annotated", { type: "ClusterIP", ports: [{ port: 80 }] }));
      const mine = a.metadata.annotations![BRIDGE_PORTS_ANNOTATION];
      const out = await c.store.update<Service>("services", { ...a, metadata: { ...a.metadata, annotations: { [BRIDGE_PORTS_ANNOTATION]: '{"80/TCP":20000}', team: "x" } } });
      expect(out.metadata.annotations).to.deep.equal({ [BRIDGE_PORTS_ANNOTATION]: mine, team: "x" });
      const created = await c.store.create<Service>("services", "default", svcOf("external", { type: "ExternalName", externalName: "example.com" }, { annotations: { [BRIDGE_PORTS_ANNOTATION]: mine! } }));
      expect(created.metadata.annotations?.[BRIDGE_PORTS_ANNOTATION]).to.equal(undefined);
    });
  });
});
