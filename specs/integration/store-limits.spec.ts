/** The store's bounds: a request queue that answers TooManyRequests when full, and an Events bucket bounded by size. */
import { expect } from "chai";
import type { Event, Lease } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import type { Reply } from "../../bus/errors.ts";
import { jetstreamManager } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { startTestCluster } from "../harness/cluster.ts";
import { request } from "../../bus/request.ts";
import { subjects } from "../../bus/subjects.ts";
import { bucketFor, EVENTS_MAX_AGE_MS } from "../../bus/kv.ts";
import { ErrorCode } from "../../bus/errors.ts";
import { buildEvent } from "../../runtime/events.ts";

describe("store limits", function () {
  this.timeout(60_000);

  describe("a full request queue", () => {
    let c: TestCluster;
    before(async () => {
      c = await startTestCluster({ storeOpts: { concurrency: 1, maxQueued: 2, repairIntervalMs: 0 } });
    });
    after(async () => c?.stop());

    it("answers TooManyRequests with a retry hint at once instead of queueing without bound", async () => {
      const s = subjects(c.cluster);
      const replies = await Promise.all(
        Array.from({ length: 60 }, () => request<unknown>(c.nc, s.store("get"), { type: "get", resource: "namespaces", name: "default" }, 5000)),
      );
      const codes = replies.map((r) => (r.ok ? "ok" : r.error.code));
      const refused = replies.filter((r): r is Extract<Reply<unknown>, { ok: false }> => !r.ok && r.error.code === ErrorCode.TooManyRequests);
      expect(refused.length, codes.join(",")).to.be.greaterThan(0);
      expect(refused[0]!.error.details?.retryAfterSeconds).to.equal(1);
      expect(codes.filter((x) => x === "ok").length, codes.join(",")).to.be.at.least(3);
      expect(codes.filter((x) => x !== "ok" && x !== ErrorCode.TooManyRequests), codes.join(",")).to.deep.equal([]);
    });

    it("serves Lease reads and writes at once, past a full queue, so a burst cannot make a leader miss its renewal", async () => {
      const s = subjects(c.cluster);
      const lease = await c.store.create<Lease>("leases", "kube-system", {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: "spec-holder", namespace: "kube-system" },
        spec: { holderIdentity: "spec", leaseDurationSeconds: 5, renewTime: new Date().toISOString() },
      } as Lease);
      const burst = Array.from({ length: 60 }, () => request<unknown>(c.nc, s.store("get"), { type: "get", resource: "namespaces", name: "default" }, 5000));
      const reads = Array.from({ length: 10 }, () => request<Lease>(c.nc, s.store("get"), { type: "get", resource: "leases", namespace: "kube-system", name: "spec-holder" }, 5000));
      const renewed = { ...lease, spec: { ...lease.spec, renewTime: new Date().toISOString() } };
      const write = request<Lease>(c.nc, s.store("update"), { type: "update", resource: "leases", namespace: "kube-system", name: "spec-holder", object: renewed }, 5000);
      const [others, leaseReplies] = await Promise.all([Promise.all(burst), Promise.all([...reads, write])]);
      expect(others.some((r) => !r.ok && r.error.code === ErrorCode.TooManyRequests), "the burst filled the queue").to.equal(true);
      expect(leaseReplies.map((r) => (r.ok ? "ok" : r.error.code))).to.deep.equal(Array(11).fill("ok"));
    });
  });

  describe("the Events bucket", () => {
    let c: TestCluster;
    const maxBytes = 64 * 1024;
    before(async () => {
      c = await startTestCluster({ storeOpts: { eventsMaxBytes: maxBytes, repairIntervalMs: 0 } });
    });
    after(async () => c?.stop());

    it("is bounded by size as well as age, and drops the oldest Events first", async () => {
      const jsm = await jetstreamManager(c.nc);
      const stream = `KV_${bucketFor(c.cluster, "events")}`;
      const config = (await jsm.streams.info(stream)).config;
      expect(config.max_bytes).to.equal(maxBytes);
      expect(config.max_age).to.equal(nanos(EVENTS_MAX_AGE_MS));
      for (let i = 0; i < 150; i++) {
        const ev = buildEvent({
          involved: { kind: "Pod", namespace: "default", name: `p${i}` },
          type: "Normal",
          reason: "Spec",
          message: `event ${i} ${"x".repeat(1000)}`,
          source: { component: "spec" },
          name: `e-${String(i).padStart(3, "0")}`,
        });
        await c.store.create("events", "default", ev);
      }
      const names = (await c.store.list<Event>("events", "default")).items.map((e) => e.metadata.name);
      expect(names).to.include("e-149");
      expect(names).to.not.include("e-000");
      expect(names.length).to.be.below(150);
      expect((await jsm.streams.info(stream)).state.bytes).to.be.at.most(maxBytes);
    });
  });
});
