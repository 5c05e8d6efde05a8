import { expect } from "chai";
import { create, update, rejected, fieldsOf, causeAt, minimal, stored, clone } from "./admission.fixtures.ts";

describe("store admission › config, secrets, events and leases", () => {
  describe("ConfigMap", () => {
    it("is stored as given", () => {
      const cm = minimal("configmaps");
      const out = create("configmaps", cm);
      expect(out.data).to.deep.equal(cm.data);
      expect(Object.keys(out).sort()).to.deep.equal(["apiVersion", "data", "kind", "metadata"]);
    });

    it("refuses bad keys, keys in both data and binaryData, and non-base64 binary data", () => {
      const cm = minimal("configmaps");
      cm.data = { "a b": "1", dup: "x" };
      cm.binaryData = { dup: "eA==", raw: "not base64!" };
      expect(fieldsOf(rejected(() => create("configmaps", cm)))).to.deep.equal(["data[a b]", "data[dup]", "binaryData[dup]", "binaryData[raw]"]);
    });

    it("refuses more than 1 MiB of data", () => {
      const cm = minimal("configmaps");
      cm.data = { a: "x".repeat(600 * 1024), b: "y".repeat(600 * 1024) };
      expect(rejected(() => create("configmaps", cm)).details?.causes?.[0]?.reason).to.equal("FieldValueTooLong");
    });

    it("freezes the data of an immutable ConfigMap", () => {
      const old = stored("configmaps", { ...minimal("configmaps"), immutable: true });
      const next = clone(old);
      next.data = { "app.conf": "x=2" };
      expect(fieldsOf(rejected(() => update("configmaps", next, old)))).to.deep.equal(["data"]);
    });
  });

  describe("Secret", () => {
    it("defaults type Opaque and merges stringData into base64 data", () => {
      const s = minimal("secrets");
      s.data = { user: Buffer.from("admin").toString("base64"), password: Buffer.from("old").toString("base64") };
      const out = create("secrets", s);
      expect(out.type).to.equal("Opaque");
      expect(out.stringData).to.equal(undefined);
      expect(out.data).to.deep.equal({ user: "YWRtaW4=", password: Buffer.from("hunter2").toString("base64") });
    });

    it("requires the keys of its type", () => {
      const tls = minimal("secrets");
      tls.type = "kubernetes.io/tls";
      tls.stringData = { "tls.crt": "x" };
      expect(fieldsOf(rejected(() => create("secrets", tls)))).to.deep.equal(["data[tls.key]"]);
    });

    it("refuses data that is not base64", () => {
      const s = minimal("secrets");
      s.data = { token: "%%%" };
      const c = causeAt(rejected(() => create("secrets", s)), "data[token]");
      expect(c.message).to.not.contain("%%%");
    });

    it("keeps its type immutable", () => {
      const old = stored("secrets");
      const next = clone(old);
      next.type = "kubernetes.io/basic-auth";
      next.data.username = "YQ==";
      expect(fieldsOf(rejected(() => update("secrets", next, old)))).to.deep.equal(["type"]);
    });
  });

  describe("Event", () => {
    it("defaults count 1, type Normal and both timestamps to now", () => {
      const out = create("events", minimal("events"));
      expect(out).to.deep.include({ count: 1, type: "Normal", firstTimestamp: "2026-03-01T12:00:00Z", lastTimestamp: "2026-03-01T12:00:00Z" });
    });

    it("keeps the timestamps and count a reporter sets", () => {
      const ev = { ...minimal("events"), count: 4, type: "Warning", firstTimestamp: "2026-03-01T10:00:00Z", lastTimestamp: "2026-03-01T11:00:00Z" };
      expect(create("events", ev)).to.deep.include({ count: 4, type: "Warning", firstTimestamp: "2026-03-01T10:00:00Z", lastTimestamp: "2026-03-01T11:00:00Z" });
    });

    it("refuses an involved object from another namespace, an unknown type and a bad timestamp", () => {
      const ev = minimal("events");
      ev.involvedObject.namespace = "other";
      ev.type = "Info";
      ev.firstTimestamp = "2026-03-01T10:00:00Z";
      ev.lastTimestamp = "yesterday";
      expect(fieldsOf(rejected(() => create("events", ev)))).to.deep.equal(["involvedObject.namespace", "type", "lastTimestamp"]);
    });

    it("accepts an event about a cluster-scoped object", () => {
      const ev = { ...minimal("events"), involvedObject: { kind: "Node", name: "node-1" }, reason: "NodeNotReady" };
      expect(create("events", ev).involvedObject).to.deep.equal({ kind: "Node", name: "node-1" });
    });
  });

  describe("Lease", () => {
    it("is stored as given", () => {
      const lease = minimal("leases");
      expect(create("leases", lease).spec).to.deep.equal(lease.spec);
    });

    it("refuses a non-positive duration, negative transitions and a malformed renewTime", () => {
      const lease = minimal("leases");
      lease.spec = { holderIdentity: "node-1", leaseDurationSeconds: 0, leaseTransitions: -1, renewTime: "now" };
      const e = rejected(() => create("leases", lease));
      expect(fieldsOf(e)).to.deep.equal(["spec.leaseDurationSeconds", "spec.leaseTransitions", "spec.renewTime"]);
      expect(causeAt(e, "spec.leaseDurationSeconds").message).to.equal("Invalid value: 0: must be greater than 0");
    });
  });
});
