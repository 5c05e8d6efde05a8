import { expect } from "chai";
import { performance } from "node:perf_hooks";
import type { Deployment, Pod } from "../../bus/resources.ts";
import type { StoreRequest } from "../../bus/store-protocol.ts";
import type { TestCluster } from "../harness/cluster.ts";
import type { FakeKubelet } from "../harness/fake-kubelet.ts";
import type { Host, LeadershipChange } from "../../runtime/host.ts";
import type { Relay, Publish } from "../harness/relay.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { startFakeKubelet, readyPods } from "../harness/fake-kubelet.ts";
import { startRelay } from "../harness/relay.ts";
import { startHost } from "../../runtime/host.ts";
import { subjects } from "../../bus/subjects.ts";
import { decode } from "../../bus/codec.ts";
import { Informer } from "../../runtime/informer.ts";
import { replicationController } from "../../actors/replication-controller/index.ts";
import { deploymentController } from "../../actors/deployment-controller/index.ts";

const NS = "default";
const LEASE_MS = 2000;
const REPLICAS = 6;
const KINDS = [deploymentController.kind, replicationController.kind];
const WRITES = new Set<string>(["create", "update", "patch", "delete", "bind", "evict", "status"]);

interface Write {
  conn: string;
  what: string;
  reply: string;
  sentAt: number;
  repliedAt?: number;
  ok?: boolean;
}

interface Interval {
  who: string;
  start: number;
  end: number;
}

function deployment(image: string): Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: NS },
    spec: {
      replicas: REPLICAS,
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c", image }] } },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    },
  };
}

function rolledOut(c: TestCluster, image: string, timeoutMs: number) {
  return waitFor(async () => {
    const d = await c.store.get<Deployment>("deployments", NS, "web");
    const s = d.status;
    const done = (d.metadata.generation ?? 0) <= (s?.observedGeneration ?? 0) && s?.updatedReplicas === REPLICAS && s.replicas === REPLICAS && (s.availableReplicas ?? 0) >= REPLICAS;
    const pods = readyPods((await c.store.list<Pod>("pods", NS, { labelSelector: "app=web" })).items);
    return done && pods.length === REPLICAS && pods.every((p) => p.spec.containers[0]!.image === image) ? d : undefined;
  }, { timeoutMs, what: `web rolled out to ${image}` });
}

describe("leader election (integration): a leader cut off from NATS", function () {
  this.timeout(90_000);
  let c: TestCluster;
  let kubelet: FakeKubelet | undefined;
  const relays: Relay[] = [];
  const hosts: Host[] = [];

  before(async () => {
    c = await startTestCluster();
    await c.store.create("namespaces", undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }).catch(() => undefined);
  });
  after(async () => {
    for (const r of relays) r.thaw();
    for (const h of hosts) await h.stop();
    for (const r of relays) await r.stop();
    await kubelet?.stop();
    await c?.stop();
  });

  it("stops acting before a standby takes over, so two leaders never write at once, and the rollout completes", async () => {
    // Who believed itself leader, and when (one clock: this process's performance.now()).
    const leading = new Map<string, number>();
    const intervals: Interval[] = [];
    const onLeadership = (ch: LeadershipChange) => {
      const who = `${ch.kind}/${ch.id}`;
      if (ch.leading) leading.set(who, ch.at);
      else if (leading.has(who)) {
        intervals.push({ who, start: leading.get(who)!, end: ch.at });
        leading.delete(who);
      }
    };
    const leadsAll = (ids: Set<string>) => [...ids].every((w) => leading.has(w));

    // Every store write a replica's controllers send, tapped at its relay, and the store's answer.
    const storePrefix = `${subjects(c.cluster).storeQueue()}.`;
    const writes = new Map<string, Write>();
    const tap = (p: Publish) => {
      if (!p.subject.startsWith(storePrefix) || !p.reply || !WRITES.has(p.subject.slice(storePrefix.length))) return;
      const req = decode<StoreRequest>(p.payload);
      const resource = "resource" in req ? req.resource : "pods";
      if (resource === "leases") return; // the election itself
      const name = "name" in req ? req.name : "object" in req ? (req.object.metadata.name ?? req.object.metadata.generateName) : "";
      writes.set(p.reply, { conn: p.conn, what: `${req.type} ${resource}/${name}`, reply: p.reply, sentAt: p.at });
    };
    // Request replies go to <inbox>.<token> (bus/request.ts): a copy of each tells whether the store accepted the write.
    const replies = c.nc.subscribe("_INBOX.*.*", {
      callback: (_e, m) => {
        const w = writes.get(m.subject);
        if (!w || w.repliedAt !== undefined) return;
        w.repliedAt = performance.now();
        w.ok = decode<{ ok: boolean }>(m.data).ok;
      },
    });
    await c.nc.flush();

    const startReplica = async () => {
      const relay = await startRelay(c.server.port);
      relay.onPublish = tap;
      relays.push(relay);
      const host = await startHost({
        natsUrl: relay.url,
        cluster: c.cluster,
        leaseDurationMs: LEASE_MS,
        onLeadership,
        actors: [{ def: deploymentController }, { def: replicationController }],
      });
      hosts.push(host);
      return { relay, host, ids: new Set(host.actors.map((a) => `${a.kind}/${a.id}`)) };
    };
    const a = await startReplica();
    await waitFor(() => leadsAll(a.ids), { what: "replica A leads both controllers" });
    const b = await startReplica();
    kubelet = await startFakeKubelet(c.nc, c.cluster, { readyDelayMs: 150 });

    await c.store.create("deployments", NS, deployment("v1"));
    await rolledOut(c, "v1", 20_000);
    const pods = new Informer<Pod>(c.nc, c.cluster, { resource: "pods", namespace: NS });
    // Every pod of the app ever seen: a second leader acting at once shows up as extra pods made and removed.
    const seen = new Set<string>();
    const count = (p: Pod) => void (p.metadata.labels?.app === "web" && seen.add(p.metadata.uid!));
    pods.addHandlers({ add: count, update: (_o, p) => count(p), delete: count });
    await pods.start();

    // A merge patch, as `kubectl set image` sends: the controllers may be writing the status meanwhile.
    await c.store.patch("deployments", NS, "web", "merge", { spec: { template: { spec: { containers: [{ name: "c", image: "v2" }] } } } });
    await waitFor(() => {
      const n = pods.list(NS).filter((p) => p.spec.containers[0]!.image === "v2").length;
      return n >= 1 && n < REPLICAS;
    }, { what: "rollout under way" });

    // Replica A's network stops delivering, both ways, for longer than the lease.
    const frozenAt = performance.now();
    a.relay.freeze();
    await waitFor(() => leadsAll(b.ids) && performance.now() - frozenAt > 2 * LEASE_MS, {
      timeoutMs: 30_000,
      what: "replica B to lead both controllers",
    });
    await waitFor(() => [...writes.values()].some((w) => b.ids.has(w.conn) && w.ok && w.sentAt > frozenAt), { what: "replica B writing" });
    a.relay.thaw();

    await rolledOut(c, "v2", 30_000);
    // The record up to the end of the rollout (terms still running count as running for ever);
    // the replicas stop in `after` — how a stopping leader hands over is the unit specs' business.
    const terms = [...intervals, ...[...leading].map(([who, start]) => ({ who, start, end: Infinity }))];
    const accepted = [...writes.values()].filter((w) => w.ok);
    pods.stop();
    replies.unsubscribe();

    // No two replicas believed themselves leader of one controller at the same time…
    for (const kind of KINDS) {
      const mine = terms.filter((i) => i.who.startsWith(`${kind}/`)).sort((x, y) => x.start - y.start);
      expect(new Set(mine.map((i) => i.who)).size, `${kind}: both replicas led at some point`).to.equal(2);
      for (let i = 1; i < mine.length; i++) {
        const [p, n] = [mine[i - 1]!, mine[i]!];
        expect(n.start, `${kind}: ${n.who} began leading at ${n.start.toFixed(0)} ms while ${p.who} led until ${p.end.toFixed(0)} ms`).to.be.at.least(p.end);
      }
    }
    // …and every write the store accepted from a replica was sent and answered while that replica led.
    expect(accepted.some((w) => a.ids.has(w.conn) && w.sentAt < frozenAt), "replica A wrote before the freeze").to.equal(true);
    expect(accepted.some((w) => b.ids.has(w.conn)), "replica B wrote after taking over").to.equal(true);
    const outside = accepted.filter((w) => !terms.some((i) => i.who === w.conn && i.start <= w.sentAt && w.repliedAt! <= i.end));
    expect(
      outside.map((w) => `${w.conn} ${w.what} sent ${w.sentAt.toFixed(0)} answered ${w.repliedAt!.toFixed(0)}`),
      "writes accepted outside the writer's leadership",
    ).to.deep.equal([]);
    // What a user sees: one new pod per replica, no more, and the rollout ends at replicas.
    expect(seen.size, "pods made in all: replicas of v1, then replicas of v2").to.equal(2 * REPLICAS);
    const live = (await c.store.list<Pod>("pods", NS, { labelSelector: "app=web" })).items.filter((p) => !p.metadata.deletionTimestamp);
    expect(live).to.have.length(REPLICAS);
    expect((await c.store.list("replicasets", NS, { labelSelector: "app=web" })).items).to.have.length(2);
  });
});
