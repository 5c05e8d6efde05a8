import { expect } from "chai";
import type { ConfigMap, KubeObject } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { garbageCollector } from "../../actors/garbage-collector/index.ts";
import { ErrorCode, isCode } from "../../bus/errors.ts";

const NS = "gc";

describe("garbage collector (integration)", function () {
  this.timeout(30_000);
  let c: TestCluster;
  before(async () => {
    c = await startTestCluster({ actors: [{ def: garbageCollector }] });
    await c.store.create("namespaces", undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  });
  after(async () => c?.stop());

  const cm = (name: string, owners: KubeObject[] = []): ConfigMap => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name,
      namespace: NS,
      ...(owners.length ? { ownerReferences: owners.map((o) => ({ apiVersion: "v1", kind: "ConfigMap", name: o.metadata.name!, uid: o.metadata.uid!, blockOwnerDeletion: true })) } : {}),
    },
    data: { k: "v" },
  });
  const gone = async (name: string) => c.store.get("configmaps", NS, name).then(() => false, (e) => isCode(e, ErrorCode.NotFound));
  const family = async (prefix: string) => {
    const owner = await c.store.create("configmaps", NS, cm(`${prefix}-owner`));
    for (const i of [1, 2]) await c.store.create("configmaps", NS, cm(`${prefix}-dep${i}`, [owner]));
    return owner;
  };

  it("background: deleting an owner deletes its dependents after it is gone", async () => {
    await family("bg");
    await c.store.delete("configmaps", NS, "bg-owner", { propagationPolicy: "Background" });
    await waitFor(async () => (await gone("bg-dep1")) && (await gone("bg-dep2")), { what: "dependents deleted" });
  });

  it("foreground: the owner stays (with its finalizer) until its dependents are gone, then goes", async () => {
    const owner = await family("fg");
    // One dependent is held by a finalizer of its own, so the owner must wait for it.
    const held = cm("fg-held", [owner]);
    held.metadata.finalizers = ["example.com/hold"];
    await c.store.create("configmaps", NS, held);
    await c.store.delete("configmaps", NS, "fg-owner", { propagationPolicy: "Foreground" });
    await waitFor(async () => (await gone("fg-dep1")) && (await gone("fg-dep2")), { what: "dependents deleted" });
    const waiting = await c.store.get("configmaps", NS, "fg-owner");
    expect(waiting.metadata.deletionTimestamp).to.be.a("string");
    expect(waiting.metadata.finalizers).to.deep.equal(["foregroundDeletion"]);
    const h = await c.store.get("configmaps", NS, "fg-held");
    expect(h.metadata.deletionTimestamp, "the held dependent is being deleted").to.be.a("string");
    await c.store.update("configmaps", { ...h, metadata: { ...h.metadata, finalizers: [] } });
    await waitFor(async () => (await gone("fg-held")) && (await gone("fg-owner")), { what: "owner deleted after its last dependent" });
  });

  it("orphan: the dependents stay, without the owner reference", async () => {
    await family("or");
    await c.store.delete("configmaps", NS, "or-owner", { propagationPolicy: "Orphan" });
    await waitFor(() => gone("or-owner"), { what: "owner deleted" });
    for (const n of ["or-dep1", "or-dep2"]) expect((await c.store.get("configmaps", NS, n)).metadata.ownerReferences).to.equal(undefined);
  });

  it("drops the reference to a deleted owner when another owner is still alive", async () => {
    const a = await c.store.create("configmaps", NS, cm("two-a"));
    const b = await c.store.create("configmaps", NS, cm("two-b"));
    await c.store.create("configmaps", NS, cm("two-dep", [a, b]));
    await c.store.delete("configmaps", NS, "two-a");
    const dep = await waitFor(async () => {
      const d = await c.store.get("configmaps", NS, "two-dep");
      return d.metadata.ownerReferences?.length === 1 ? d : undefined;
    }, { what: "dangling reference dropped" });
    expect(dep.metadata.ownerReferences?.[0]?.uid).to.equal(b.metadata.uid);
  });
});
