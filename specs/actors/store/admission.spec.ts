import { expect } from "chai";
import type { KubeObject } from "../../../bus/resources.ts";
import { RESOURCE_TYPES } from "../../../bus/kinds.ts";
import { FlotillaError, ErrorCode } from "../../../bus/errors.ts";
import { admit, MAX_OBJECT_BYTES } from "../../../actors/store/admission/index.ts";
import { NOW, MINIMAL, create, update, status, rejected, fieldsOf, causeAt, minimal, stored, rt, clone } from "./admission.fixtures.ts";

describe("store admission", () => {
  describe("for every registered resource type", () => {
    for (const t of RESOURCE_TYPES) {
      const a = /^[AEIOU]/.test(t.kind) ? "an" : "a";
      it(`admits a minimal ${t.kind} and returns it with its apiVersion and kind`, () => {
        const fixture = MINIMAL[t.resource];
        expect(fixture, `no fixture for ${t.resource}`).to.not.equal(undefined);
        const out = create(t.resource, fixture);
        expect(out.kind).to.equal(t.kind);
        expect(out.apiVersion).to.equal(t.group ? `${t.group}/${t.version}` : t.version);
      });

      it(`re-admits an already admitted ${t.kind} unchanged`, () => {
        const once = stored(t.resource);
        const again = update(t.resource, clone(once), once);
        expect(again).to.deep.equal(once);
      });

      it(`rejects ${a} ${t.kind} whose name is not a valid DNS name, at metadata.name`, () => {
        const obj = minimal(t.resource);
        obj.metadata.name = "Not_Valid";
        const e = rejected(() => create(t.resource, obj));
        expect(fieldsOf(e)).to.include("metadata.name");
        expect(e.details?.kind).to.equal(t.kind);
        expect(e.details?.name).to.equal("Not_Valid");
      });

      it(`leaves the caller's ${t.kind} object unmodified`, () => {
        const obj = minimal(t.resource);
        const before = clone(obj);
        create(t.resource, obj);
        expect(obj).to.deep.equal(before);
      });
    }
  });

  describe("error shape", () => {
    it("prints one cause bare and several in brackets, Kubernetes style", () => {
      const one = minimal("pods");
      delete one.spec.containers[0].image;
      expect(rejected(() => create("pods", one)).message).to.equal('Pod "web-1" is invalid: spec.containers[0].image: Required value');

      const two = minimal("pods");
      delete two.spec.containers[0].image;
      two.metadata.labels = { app: "-bad" };
      const e = rejected(() => create("pods", two));
      expect(e.message).to.match(/^Pod "web-1" is invalid: \[metadata\.labels: Invalid value: "-bad": a valid label must be/);
      expect(e.message).to.contain(", spec.containers[0].image: Required value]");
    });

    it("names the API group in the message and in details for grouped kinds", () => {
      const d = minimal("deployments");
      d.spec.replicas = -1;
      const e = rejected(() => create("deployments", d));
      expect(e.message).to.equal('Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0');
      expect(e.details).to.deep.include({ name: "web", kind: "Deployment", group: "apps" });
      expect(e.details?.causes).to.deep.equal([
        { field: "spec.replicas", reason: "FieldValueInvalid", message: "Invalid value: -1: must be greater than or equal to 0" },
      ]);
    });

    it("travels as a wire error with code Invalid", () => {
      const e = rejected(() => create("configmaps", { ...minimal("configmaps"), data: { "bad key": "x" } }));
      const wire = e.toWire();
      expect(wire.code).to.equal("Invalid");
      expect(wire.details?.causes?.[0]?.field).to.equal("data[bad key]");
    });
  });

  describe("object size", () => {
    it("refuses an object over 1.5 MiB as RequestEntityTooLarge", () => {
      const cm = minimal("configmaps");
      cm.metadata.annotations = { big: "x".repeat(MAX_OBJECT_BYTES) };
      try {
        create("configmaps", cm);
        expect.fail("admitted");
      } catch (e) {
        expect(e).to.be.instanceOf(FlotillaError);
        expect((e as FlotillaError).code).to.equal(ErrorCode.RequestEntityTooLarge);
        expect((e as Error).message).to.match(/^Request entity too large/);
      }
    });

    it("accepts an object just under the limit as far as size goes", () => {
      const cm = minimal("configmaps");
      cm.data = { "a.bin": "y".repeat(1000 * 1000) };
      expect(() => create("configmaps", cm)).to.not.throw();
    });
  });

  describe("envelope", () => {
    it("fills in a missing apiVersion and kind", () => {
      const { apiVersion: _a, kind: _k, ...bare } = minimal("replicasets");
      const out = create("replicasets", bare);
      expect([out.apiVersion, out.kind]).to.deep.equal(["apps/v1", "ReplicaSet"]);
    });

    it("answers BadRequest for a body of another kind", () => {
      try {
        create("pods", minimal("services"));
        expect.fail("admitted");
      } catch (e) {
        expect((e as FlotillaError).code).to.equal(ErrorCode.BadRequest);
      }
    });
  });

  describe("metadata", () => {
    it("requires a namespace on namespaced kinds and forbids one on cluster-scoped kinds", () => {
      const pod = minimal("pods");
      delete pod.metadata.namespace;
      expect(fieldsOf(rejected(() => create("pods", pod)))).to.deep.equal(["metadata.namespace"]);
      const node = minimal("nodes");
      node.metadata.namespace = "default";
      expect(causeAt(rejected(() => create("nodes", node)), "metadata.namespace").reason).to.equal("FieldValueForbidden");
    });

    it("accepts generateName as a prefix (a trailing dash or dot is fine) and checks it as a name", () => {
      const pod = minimal("pods");
      pod.metadata = { generateName: "web-", namespace: "default" };
      expect(create("pods", pod).metadata.generateName).to.equal("web-");
      const ev = minimal("events");
      ev.metadata = { generateName: "node-1.", namespace: "default" };
      expect(create("events", ev).metadata.generateName).to.equal("node-1.");
      pod.metadata.generateName = "Web_";
      expect(fieldsOf(rejected(() => create("pods", pod)))).to.deep.equal(["metadata.generateName"]);
    });

    it("requires a name or generateName", () => {
      const cm = minimal("configmaps");
      delete cm.metadata.name;
      expect(causeAt(rejected(() => create("configmaps", cm)), "metadata.name").message).to.equal("Required value: name or generateName is required");
    });

    it("checks label keys and values, annotation keys and the 256 KiB annotation budget", () => {
      const cm = minimal("configmaps");
      cm.metadata.labels = { "example.com/ok": "yes", "bad/key/x": "v", k: "x".repeat(64) };
      cm.metadata.annotations = { "Not Valid": "1" };
      const e = rejected(() => create("configmaps", cm));
      expect(fieldsOf(e)).to.deep.equal(["metadata.labels", "metadata.labels", "metadata.annotations"]);
      expect(e.message).to.contain('Invalid value: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx": must be no more than 63 characters');

      const big = minimal("configmaps");
      big.metadata.annotations = { a: "x".repeat(256 * 1024) };
      const tooLong = causeAt(rejected(() => create("configmaps", big)), "metadata.annotations");
      expect(tooLong.reason).to.equal("FieldValueTooLong");
    });

    it("keeps uid and creationTimestamp on update: an omitted uid is the stored one, a different one is refused", () => {
      const old = stored("configmaps");
      const next = clone(old);
      delete next.metadata.uid;
      next.metadata.creationTimestamp = "2000-01-01T00:00:00Z";
      const out = update("configmaps", next, old);
      expect(out.metadata.uid).to.equal(old.metadata.uid);
      expect(out.metadata.creationTimestamp).to.equal(old.metadata.creationTimestamp);

      next.metadata.uid = "another";
      expect(causeAt(rejected(() => update("configmaps", next, old)), "metadata.uid").message).to.contain("field is immutable");
    });

    it("refuses new finalizers on an object that is being deleted", () => {
      const old = stored("configmaps");
      old.metadata.deletionTimestamp = "2026-03-01T12:00:00Z";
      old.metadata.finalizers = ["example.com/a"];
      const next = clone(old);
      next.metadata.finalizers = ["example.com/a", "example.com/b"];
      expect(causeAt(rejected(() => update("configmaps", next, old)), "metadata.finalizers").reason).to.equal("FieldValueForbidden");
      next.metadata.finalizers = [];
      expect(update("configmaps", next, old).metadata.finalizers).to.deep.equal([]);
    });
  });

  describe("status writes", () => {
    it("keep the stored spec and validate only status", () => {
      const old = stored("deployments");
      const next = clone(old);
      next.spec.replicas = -5; // ignored: a status write cannot change spec
      next.status = { replicas: 3, readyReplicas: 2, availableReplicas: 2, observedGeneration: 1 };
      const out = status("deployments", next, old);
      expect(out.spec).to.deep.equal(old.spec);
      expect(out.status).to.deep.equal(next.status);
    });

    it("are refused for kinds without a status subresource", () => {
      const old = stored("configmaps");
      expect(() => status("configmaps", clone(old), old)).to.throw(FlotillaError).with.property("code", ErrorCode.NotFound);
    });
  });

  describe("ordinary updates", () => {
    it("keep the stored status for kinds with a status subresource", () => {
      const old = stored("pods");
      const next = clone(old);
      next.status = { phase: "Succeeded" };
      expect(update("pods", next, old).status).to.deep.equal(old.status);
    });
  });

  it("uses the clock from the context, not the wall clock", () => {
    const ev = admit(rt("events"), minimal("events") as unknown as KubeObject, { now: () => NOW, operation: "create" }) as Record<string, unknown>;
    expect(ev.firstTimestamp).to.equal("2026-03-01T12:00:00Z");
  });
});
