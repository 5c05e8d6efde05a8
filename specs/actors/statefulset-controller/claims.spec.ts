import { expect } from "chai";
import type { StatefulSet } from "../../../bus/resources.ts";
import type { PersistentVolumeClaim } from "../../../bus/storage.ts";
import { World, of, statefulSet } from "./world.ts";

const template = (name = "data", labels: Record<string, string> = { tier: "storage" }): PersistentVolumeClaim => ({
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  metadata: { name, labels, annotations: { note: "kept" } },
  spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "16Mi" } } },
});

function withClaims(spec: Partial<StatefulSet["spec"]> = {}): StatefulSet {
  const base = statefulSet({ replicas: 2, volumeClaimTemplates: [template()], ...spec });
  base.spec.template.spec.containers[0]!.volumeMounts = [{ name: "data", mountPath: "/data" }];
  return base;
}
const claimNames = (w: World) => w.claims.map((c) => c.metadata.name!).sort();
const owners = (w: World, name: string) => (w.claims.find((c) => c.metadata.name === name)?.metadata.ownerReferences ?? []).map((r) => `${r.kind}/${r.name}`);
const scale = (w: World, replicas: number) => (w.set = { ...w.set, spec: { ...w.set.spec, replicas } });
const deletePod = (w: World, name: string) => (w.pods = w.pods.filter((p) => p.metadata.name !== name));

describe("statefulset controller › volumeClaimTemplates", () => {
  it("creates claim data-db-N with the pod of ordinal N, before the pod, labelled with the template's and the selector's labels", () => {
    const w = new World(withClaims());
    const [create] = of(w.step(), "pod.create");
    expect(create!.pod.metadata.name).to.equal("db-0");
    expect(create!.claims.map((c) => c.metadata.name)).to.deep.equal(["data-db-0"]);
    const claim = create!.claims[0]!;
    expect(claim.metadata).to.deep.include({ namespace: "default", labels: { tier: "storage", app: "db" }, annotations: { note: "kept" } });
    expect(claim.metadata.ownerReferences, "Retain/Retain: nobody owns the claim").to.equal(undefined);
    expect(claim.spec).to.deep.equal({ accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "16Mi" } } });
    w.converge();
    expect(claimNames(w)).to.deep.equal(["data-db-0", "data-db-1"]);
  });

  it("mounts the ordinal's claim in place of a template volume of the same name, keeping the other volumes", () => {
    const set = withClaims();
    set.spec.template.spec.volumes = [{ name: "data", emptyDir: {} }, { name: "scratch", emptyDir: {} }];
    const w = new World(set);
    const pod = of(w.step(), "pod.create")[0]!.pod;
    expect(pod.spec.volumes).to.deep.equal([{ name: "data", persistentVolumeClaim: { claimName: "data-db-0" } }, { name: "scratch", emptyDir: {} }]);
  });

  it("re-creates a deleted pod on the claim it had, creating no new claim", () => {
    const w = new World(withClaims());
    w.converge();
    deletePod(w, "db-1");
    const [create] = of(w.step(), "pod.create");
    expect(create!.pod.metadata.name).to.equal("db-1");
    expect(create!.claims).to.deep.equal([], "data-db-1 exists");
    expect(create!.pod.spec.volumes).to.deep.include({ name: "data", persistentVolumeClaim: { claimName: "data-db-1" } });
  });

  it("creates a claim that went missing under a Pending pod, but not under a Running one", () => {
    const w = new World(withClaims({ replicas: 1 }));
    w.step();
    w.claims = [];
    expect(of(w.step(), "claim.create").map((c) => c.claim.metadata.name)).to.deep.equal(["data-db-0"]);
    w.claims = [];
    w.settle();
    expect(of(w.step(), "claim.create")).to.deep.equal([]);
  });

  describe("persistentVolumeClaimRetentionPolicy", () => {
    it("Retain/Retain (the default): scale-down and the set's deletion leave every claim behind", () => {
      const w = new World(withClaims());
      w.converge();
      scale(w, 1);
      w.converge();
      expect(w.names()).to.deep.equal(["db-0"]);
      expect(w.collectGarbage()).to.deep.equal([]);
      expect(w.collectGarbage(false)).to.deep.equal([]);
      expect(claimNames(w)).to.deep.equal(["data-db-0", "data-db-1"]);
    });

    it("whenScaled: Delete gives the claim of a scaled-away ordinal to its pod before deleting the pod, so it goes with it", () => {
      const w = new World(withClaims({ persistentVolumeClaimRetentionPolicy: { whenScaled: "Delete", whenDeleted: "Retain" } }));
      w.converge();
      expect(owners(w, "data-db-1")).to.deep.equal([]);
      scale(w, 1);
      const cs = w.step();
      const types = cs.map((c) => c.type).filter((t) => t !== "statefulset.status");
      expect(types).to.deep.equal(["claim.update", "pod.delete"], "the claim is handed over first");
      expect(owners(w, "data-db-1")).to.deep.equal(["Pod/db-1"]);
      expect(w.collectGarbage()).to.deep.equal(["data-db-1"]);
      expect(claimNames(w)).to.deep.equal(["data-db-0"]);
    });

    it("whenScaled: Delete does not start a pod on a claim still owned by its scaled-away predecessor", () => {
      const w = new World(withClaims({ persistentVolumeClaimRetentionPolicy: { whenScaled: "Delete", whenDeleted: "Retain" } }));
      w.converge();
      scale(w, 1);
      w.step();
      scale(w, 2);
      const d = w.step();
      expect(of(d, "pod.create")).to.deep.equal([], "data-db-1 still belongs to the old db-1");
      w.collectGarbage();
      const [create] = of(w.step(), "pod.create");
      expect(create!.claims.map((c) => c.metadata.name)).to.deep.equal(["data-db-1"], "a fresh claim");
    });

    it("whenDeleted: Delete makes the set own every claim, so they go with the set", () => {
      const w = new World(withClaims({ persistentVolumeClaimRetentionPolicy: { whenScaled: "Retain", whenDeleted: "Delete" } }));
      w.converge();
      expect(owners(w, "data-db-0")).to.deep.equal(["StatefulSet/db"]);
      expect(w.claims[0]!.metadata.ownerReferences![0]).to.deep.equal({ apiVersion: "apps/v1", kind: "StatefulSet", name: "db", uid: "sts-uid" });
      scale(w, 1);
      w.converge();
      expect(w.collectGarbage()).to.deep.equal([], "scale-down keeps data-db-1");
      w.pods = [];
      expect(w.collectGarbage(false).sort()).to.deep.equal(["data-db-0", "data-db-1"]);
    });

    it("Delete/Delete: members' claims are the set's, a scaled-away ordinal's claim moves to its pod", () => {
      const w = new World(withClaims({ persistentVolumeClaimRetentionPolicy: { whenScaled: "Delete", whenDeleted: "Delete" } }));
      w.converge();
      scale(w, 1);
      w.step();
      expect(owners(w, "data-db-0")).to.deep.equal(["StatefulSet/db"]);
      expect(owners(w, "data-db-1")).to.deep.equal(["Pod/db-1"]);
    });

    it("a policy changed to Retain/Retain takes the owner references off existing claims", () => {
      const w = new World(withClaims({ persistentVolumeClaimRetentionPolicy: { whenScaled: "Retain", whenDeleted: "Delete" } }));
      w.converge();
      w.set = { ...w.set, spec: { ...w.set.spec, persistentVolumeClaimRetentionPolicy: { whenScaled: "Retain", whenDeleted: "Retain" } } };
      const updates = of(w.step(), "claim.update");
      expect(updates.map((c) => [c.claim.metadata.name, c.claim.metadata.ownerReferences])).to.deep.equal([
        ["data-db-0", undefined],
        ["data-db-1", undefined],
      ]);
    });

    it("leaves alone a claim another controller manages", () => {
      const w = new World(withClaims({ persistentVolumeClaimRetentionPolicy: { whenScaled: "Retain", whenDeleted: "Delete" } }));
      w.addClaim({ ...template(), metadata: { name: "data-db-0", namespace: "default", ownerReferences: [{ apiVersion: "v1", kind: "Other", name: "x", uid: "x", controller: true }] } });
      w.converge();
      expect(owners(w, "data-db-0")).to.deep.equal(["Other/x"]);
    });
  });

  it("holds an ordinal back while its claim is being deleted", () => {
    const w = new World(withClaims({ replicas: 1 }));
    w.addClaim({ ...template(), metadata: { name: "data-db-0", namespace: "default", deletionTimestamp: "2026-03-01T12:00:00Z" } });
    const d = w.step();
    expect(of(d, "pod.create")).to.deep.equal([]);
  });
});
