/** planUpdate / planCreate / resolveTarget: what the store writes, decided without KV. */
import { expect } from "chai";
import type { KubeObject } from "../../../bus/resources.ts";
import type { UpdateInput } from "../../../actors/store/update.ts";
import { planUpdate, preconditionOf } from "../../../actors/store/update.ts";
import { planCreate } from "../../../actors/store/create.ts";
import { resolveTarget } from "../../../actors/store/target.ts";
import { ErrorCode, FlotillaError } from "../../../bus/errors.ts";
import { NOW, rt, minimal, stored, clone, type Obj } from "./admission.fixtures.ts";

const now = () => NOW;
const plan = (resource: string, old: Obj, input: UpdateInput, subresource?: "status" | "scale") =>
  planUpdate(rt(resource), old as unknown as KubeObject, input, { now, subresource });
const replace = (o: Obj): UpdateInput => ({ type: "replace", object: o as unknown as KubeObject });
const merge = (patch: unknown): UpdateInput => ({ type: "patch", patchType: "merge", patch });

function thrown(fn: () => unknown): FlotillaError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(FlotillaError);
    return e as FlotillaError;
  }
  expect.fail("nothing was thrown");
}

describe("store planUpdate", () => {
  describe("generation", () => {
    it("goes up by one when the spec changes", () => {
      const old = stored("deployments");
      const next = clone(old);
      next.spec.replicas = 5;
      const p = plan("deployments", old, replace(next));
      expect(p.action).to.equal("write");
      expect(p.object.metadata.generation).to.equal(2);
    });
    it("stays when only metadata changes", () => {
      const old = stored("deployments");
      const p = plan("deployments", old, merge({ metadata: { labels: { team: "a" } } }));
      expect(p.object.metadata.generation).to.equal(1);
      expect(p.object.metadata.labels).to.deep.equal({ team: "a" });
    });
    it("stays on a status write", () => {
      const old = stored("deployments");
      const p = plan("deployments", old, replace({ ...clone(old), spec: { ...old.spec, replicas: 9 }, status: { replicas: 3 } }), "status");
      expect(p.object.metadata.generation).to.equal(1);
      expect((p.object.spec as { replicas: number }).replicas).to.equal(old.spec.replicas);
      expect(p.object.status).to.deep.equal({ replicas: 3 });
    });
    it("goes up through the scale subresource", () => {
      const old = stored("deployments");
      const p = plan("deployments", old, replace({ metadata: { name: "web" }, spec: { replicas: 4 } }), "scale");
      expect((p.object.spec as { replicas: number }).replicas).to.equal(4);
      expect(p.object.metadata.generation).to.equal(2);
    });
  });

  describe("status", () => {
    it("is kept from the stored object by an update of the main resource", () => {
      const old: Obj = { ...stored("pods"), status: { phase: "Running" } };
      const next: Obj = { ...clone(old), status: { phase: "Failed" } };
      next.metadata.labels = { v: "2" };
      const p = plan("pods", old, replace(next));
      expect(p.object.status).to.deep.equal({ phase: "Running" });
      expect(p.object.metadata.labels).to.deep.equal({ v: "2" });
    });
    it("is all a status write changes: spec and metadata stay as stored", () => {
      const old: Obj = { ...stored("pods"), status: { phase: "Pending" } };
      const next: Obj = { ...clone(old), status: { phase: "Running" } };
      next.metadata.labels = { sneaky: "yes" };
      next.spec.nodeName = "elsewhere";
      const p = plan("pods", old, replace(next), "status");
      expect(p.object.status).to.deep.include({ phase: "Running" });
      expect(p.object.metadata.labels).to.equal(undefined);
      expect((p.object.spec as { nodeName?: string }).nodeName).to.equal(undefined);
    });
  });

  describe("system metadata", () => {
    it("keeps name, namespace, uid, creationTimestamp and deletionTimestamp from the stored object", () => {
      const old = stored("configmaps");
      old.metadata.deletionTimestamp = "2026-03-01T11:30:00Z";
      old.metadata.finalizers = ["a", "b"];
      const next = clone(old);
      delete next.metadata.uid;
      delete next.metadata.creationTimestamp;
      delete next.metadata.deletionTimestamp;
      next.metadata.finalizers = ["a"];
      const p = plan("configmaps", old, replace(next));
      expect(p.action).to.equal("write");
      expect(p.object.metadata).to.include({ name: "cfg", namespace: "default", uid: old.metadata.uid, creationTimestamp: old.metadata.creationTimestamp, deletionTimestamp: old.metadata.deletionTimestamp });
    });
  });

  describe("finalizers", () => {
    it("turns the removal of the last finalizer of an object being deleted into its removal", () => {
      const old = stored("configmaps");
      old.metadata.finalizers = ["example.com/x"];
      old.metadata.deletionTimestamp = "2026-03-01T11:30:00Z";
      const p = plan("configmaps", old, merge({ metadata: { finalizers: null } }));
      expect(p.action).to.equal("remove");
    });
    it("writes the removal of the last finalizer of an object that is not being deleted", () => {
      const old = stored("configmaps");
      old.metadata.finalizers = ["example.com/x"];
      expect(plan("configmaps", old, merge({ metadata: { finalizers: null } })).action).to.equal("write");
    });
    it("writes an object being deleted that still has a finalizer", () => {
      const old = stored("configmaps");
      old.metadata.finalizers = ["a", "b"];
      old.metadata.deletionTimestamp = "2026-03-01T11:30:00Z";
      expect(plan("configmaps", old, merge({ metadata: { finalizers: ["b"] } })).action).to.equal("write");
    });
    it("removes a terminating namespace once its spec.finalizers are empty", () => {
      const old = stored("namespaces");
      old.metadata.deletionTimestamp = "2026-03-01T11:30:00Z";
      old.spec = { finalizers: ["kubernetes"] };
      old.status = { phase: "Terminating" };
      expect(plan("namespaces", old, merge({ spec: { finalizers: [] } })).action).to.equal("remove");
    });
  });

  describe("patches", () => {
    it("answers BadRequest when a patch does not produce an object", () => {
      const e = thrown(() => plan("configmaps", stored("configmaps"), { type: "patch", patchType: "json", patch: [{ op: "replace", path: "", value: 3 }] }));
      expect(e.code).to.equal(ErrorCode.BadRequest);
    });
    it("records the field manager of a server-side apply", () => {
      const p = plan("configmaps", stored("configmaps"), { type: "patch", patchType: "apply", patch: { data: { k: "v" } }, fieldManager: "kubectl" });
      expect((p.object.metadata.managedFields as { manager: string; time: string }[]).map((m) => [m.manager, m.time])).to.deep.equal([["kubectl", "2026-03-01T12:00:00Z"]]);
    });
    it("is refused by admission like any update", () => {
      const e = thrown(() => plan("services", stored("services"), merge({ spec: { type: "Bogus" } })));
      expect(e.code).to.equal(ErrorCode.Invalid);
    });
  });

  describe("preconditionOf", () => {
    it("is the resourceVersion a replace or a merge patch names, and none for a JSON patch", () => {
      expect(preconditionOf(replace({ ...minimal("configmaps"), metadata: { name: "cfg", resourceVersion: "12" } }))).to.equal("12");
      expect(preconditionOf(replace(minimal("configmaps")))).to.equal(undefined);
      expect(preconditionOf(merge({ metadata: { resourceVersion: "3" } }))).to.equal("3");
      expect(preconditionOf({ type: "patch", patchType: "json", patch: [{ op: "test", path: "/metadata/resourceVersion", value: "3" }] })).to.equal(undefined);
    });
  });
});

describe("store planCreate", () => {
  const deps = { now, uid: () => "u-1", suffix: () => "x7k2q" };
  it("sets uid, creationTimestamp and a generated name from its dependencies", () => {
    const o = planCreate(rt("configmaps"), { apiVersion: "v1", kind: "ConfigMap", metadata: { generateName: "cfg-" } }, "default", deps);
    expect(o.metadata).to.include({ name: "cfg-x7k2q", namespace: "default", uid: "u-1", creationTimestamp: "2026-03-01T12:00:00Z" });
  });
  it("drops a resourceVersion and deletionTimestamp sent by the client and starts generation at 1", () => {
    const o = planCreate(rt("deployments"), { ...minimal("deployments"), metadata: { name: "web", resourceVersion: "9", deletionTimestamp: "2026-01-01T00:00:00Z", generation: 7 } } as unknown as KubeObject, "default", deps);
    expect(o.metadata.resourceVersion).to.equal(undefined);
    expect(o.metadata.deletionTimestamp).to.equal(undefined);
    expect(o.metadata.generation).to.equal(1);
  });
});

describe("store resolveTarget", () => {
  const cm = (metadata: Record<string, string>) => ({ apiVersion: "v1", kind: "ConfigMap", metadata }) as KubeObject;
  it("answers the request's namespace, or else the object's", () => {
    expect(resolveTarget(rt("configmaps"), { namespace: "a" }, cm({ name: "x" }))).to.equal("a");
    expect(resolveTarget(rt("configmaps"), {}, cm({ name: "x", namespace: "b" }))).to.equal("b");
    expect(resolveTarget(rt("namespaces"), {}, { ...cm({ name: "x", namespace: "b" }), kind: "Namespace" })).to.equal(undefined);
  });
  it("answers BadRequest for a namespace or a name that differs from the request's", () => {
    const ns = thrown(() => resolveTarget(rt("configmaps"), { namespace: "a" }, cm({ name: "x", namespace: "b" })));
    expect(ns.code).to.equal(ErrorCode.BadRequest);
    expect(ns.message).to.equal("the namespace of the provided object does not match the namespace sent on the request");
    const name = thrown(() => resolveTarget(rt("configmaps"), { namespace: "a", name: "y" }, cm({ name: "x" })));
    expect(name.code).to.equal(ErrorCode.BadRequest);
    expect(name.message).to.equal("the name of the object (x) does not match the name on the URL (y)");
  });
  it("answers BadRequest when a namespaced object has no namespace at all", () => {
    expect(thrown(() => resolveTarget(rt("configmaps"), {}, cm({ name: "x" }))).code).to.equal(ErrorCode.BadRequest);
  });
});
