import { expect } from "chai";
import type { Deployment, ReplicaSet } from "../../../bus/resources.ts";
import type { DeployCommand } from "../../../actors/deployment-controller/deployment.ts";
import { reconcileDeployment } from "../../../actors/deployment-controller/deployment.ts";
import { POD_TEMPLATE_HASH, templateHash, equalIgnoreHash } from "../../../actors/deployment-controller/template.ts";

const NOW = Date.parse("2026-01-01T00:01:00Z");
const template = (image: string) => ({ metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c", image }] } });

function deploy(o: Partial<Deployment["spec"]> = {}, image = "v2"): Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default", uid: "d-uid", generation: 2, resourceVersion: "9", annotations: { "kubernetes.io/change-cause": "v2" } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: "web" } },
      template: template(image),
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      ...o,
    },
  };
}

function rsFor(image: string, o: { replicas: number; available?: number; revision: number; created?: string }): ReplicaSet {
  const hash = templateHash(template(image));
  const t = template(image);
  t.metadata.labels = { ...t.metadata.labels, [POD_TEMPLATE_HASH]: hash } as { app: string };
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `web-${hash}`,
      namespace: "default",
      uid: `rs-${image}`,
      generation: 1,
      resourceVersion: "4",
      creationTimestamp: o.created ?? "2026-01-01T00:00:00Z",
      labels: { app: "web", [POD_TEMPLATE_HASH]: hash },
      annotations: {
        "deployment.kubernetes.io/revision": String(o.revision),
        ...(image === "v2" ? { "kubernetes.io/change-cause": "v2", "deployment.kubernetes.io/desired-replicas": "3", "deployment.kubernetes.io/max-replicas": "4" } : {}),
      },
      ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: "d-uid", controller: true }],
    },
    spec: { replicas: o.replicas, selector: { matchLabels: { app: "web", [POD_TEMPLATE_HASH]: hash } }, template: t },
    status: { replicas: o.replicas, readyReplicas: o.available ?? o.replicas, availableReplicas: o.available ?? o.replicas, observedGeneration: 1 },
  };
}

const of = <T extends DeployCommand["type"]>(cs: DeployCommand[], t: T) => cs.filter((c) => c.type === t) as Extract<DeployCommand, { type: T }>[];

describe("deployment controller", () => {
  describe("reconcileDeployment", () => {
    it("creates a ReplicaSet named <deploy>-<hash> with the hash label, selector, owner and revision 1", () => {
      const { commands } = reconcileDeployment(deploy(), [], NOW);
      const [create] = of(commands, "replicaset.create");
      const hash = templateHash(template("v2"));
      expect(create!.rs.metadata.name).to.equal(`web-${hash}`);
      expect(create!.rs.metadata.ownerReferences).to.deep.equal([{ apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: "d-uid", controller: true, blockOwnerDeletion: true }]);
      expect(create!.rs.spec.selector.matchLabels).to.deep.equal({ app: "web", [POD_TEMPLATE_HASH]: hash });
      expect(create!.rs.spec.template.metadata?.labels).to.deep.equal({ app: "web", [POD_TEMPLATE_HASH]: hash });
      expect(create!.rs.spec.replicas).to.equal(3);
      expect(create!.rs.metadata.annotations).to.include({ "deployment.kubernetes.io/revision": "1", "kubernetes.io/change-cause": "v2" });
      expect(of(commands, "deployment.annotate")[0]!.annotations).to.include({ "deployment.kubernetes.io/revision": "1" });
      const status = of(commands, "deployment.status")[0]!.status;
      expect(status.conditions?.find((c) => c.type === "Progressing")).to.include({ status: "True", reason: "NewReplicaSetCreated" });
    });

    it("surges one new pod first and keeps the old ReplicaSet while maxUnavailable is 0", () => {
      const { commands } = reconcileDeployment(deploy(), [rsFor("v1", { replicas: 3, revision: 1 })], NOW);
      expect(of(commands, "replicaset.create")[0]!.rs.spec.replicas).to.equal(1);
      expect(of(commands, "replicaset.create")[0]!.rs.metadata.annotations).to.include({ "deployment.kubernetes.io/revision": "2" });
      expect(of(commands, "replicaset.update")).to.deep.equal([]);
    });

    it("scales the old ReplicaSet down only as far as the new one's available pods allow", () => {
      const old = rsFor("v1", { replicas: 3, revision: 1 });
      const cur = rsFor("v2", { replicas: 1, available: 0, revision: 2, created: "2026-01-01T00:00:30Z" });
      expect(of(reconcileDeployment(deploy(), [old, cur], NOW).commands, "replicaset.update")).to.deep.equal([]);
      const ready = rsFor("v2", { replicas: 1, available: 1, revision: 2, created: "2026-01-01T00:00:30Z" });
      const ups = of(reconcileDeployment(deploy(), [old, ready], NOW).commands, "replicaset.update");
      expect(ups.map((u) => [u.rs.metadata.name, u.rs.spec.replicas])).to.deep.equal([[old.metadata.name, 2]]);
    });

    it("scales old pods down first when maxSurge is 0", () => {
      const d = deploy({ strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } } });
      const { commands } = reconcileDeployment(d, [rsFor("v1", { replicas: 3, revision: 1 })], NOW);
      expect(of(commands, "replicaset.create")[0]!.rs.spec.replicas).to.equal(0);
      const d2 = reconcileDeployment(d, [rsFor("v1", { replicas: 3, revision: 1 }), rsFor("v2", { replicas: 0, revision: 2, created: "2026-01-01T00:00:30Z" })], NOW);
      expect(of(d2.commands, "replicaset.update").filter((u) => u.rs.metadata.uid === "rs-v1").map((u) => u.rs.spec.replicas)).to.deep.equal([2]);
    });

    it("on undo makes the old ReplicaSet the new one with the next revision and revision history", () => {
      // The template was set back to v1 (what kubectl rollout undo sends).
      const d = deploy({}, "v1");
      const v1 = rsFor("v1", { replicas: 0, revision: 1 });
      const v2 = rsFor("v2", { replicas: 3, revision: 2, created: "2026-01-01T00:00:30Z" });
      const { commands } = reconcileDeployment(d, [v1, v2], NOW);
      expect(of(commands, "replicaset.create")).to.deep.equal([]);
      const up = of(commands, "replicaset.update").find((u) => u.rs.metadata.name === v1.metadata.name)!;
      expect(up.rs.spec.replicas).to.equal(1);
      expect(up.rs.metadata.annotations).to.include({ "deployment.kubernetes.io/revision": "3", "deployment.kubernetes.io/revision-history": "1" });
      expect(v1.metadata.annotations, "the cached ReplicaSet is untouched").to.deep.equal({ "deployment.kubernetes.io/revision": "1" });
      expect(of(commands, "deployment.annotate")[0]!.annotations).to.include({ "deployment.kubernetes.io/revision": "3" });
    });

    it("with Recreate scales old ReplicaSets to zero and creates the new one only after their pods are gone", () => {
      const d = deploy({ strategy: { type: "Recreate" } });
      const first = reconcileDeployment(d, [rsFor("v1", { replicas: 3, revision: 1 })], NOW).commands;
      expect(of(first, "replicaset.update").map((u) => u.rs.spec.replicas)).to.deep.equal([0]);
      expect(of(first, "replicaset.create")).to.deep.equal([]);
      const drained = rsFor("v1", { replicas: 0, revision: 1 });
      const second = reconcileDeployment(d, [drained], NOW).commands;
      expect(of(second, "replicaset.create")[0]!.rs.spec.replicas).to.equal(3);
    });

    it("reports a finished rollout as Available and Progressing with NewReplicaSetAvailable, and deletes history beyond the limit", () => {
      const d = deploy({ revisionHistoryLimit: 1 });
      const rss = [rsFor("v0", { replicas: 0, revision: 1 }), rsFor("v1", { replicas: 0, revision: 2 }), rsFor("v2", { replicas: 3, revision: 3, created: "2026-01-01T00:00:30Z" })];
      const { commands } = reconcileDeployment(d, rss, NOW);
      const s = of(commands, "deployment.status")[0]!.status;
      expect(s).to.include({ replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3, unavailableReplicas: 0, observedGeneration: 2 });
      expect(s.conditions?.map((c) => [c.type, c.status, c.reason])).to.deep.equal([
        ["Available", "True", "MinimumReplicasAvailable"],
        ["Progressing", "True", "NewReplicaSetAvailable"],
      ]);
      expect(of(commands, "replicaset.delete").map((c) => c.uid)).to.deep.equal(["rs-v0"]);
    });

    it("while paused scales the active ReplicaSet but starts no rollout", () => {
      const d = deploy({ paused: true, replicas: 5 });
      const { commands } = reconcileDeployment(d, [rsFor("v1", { replicas: 3, revision: 1 })], NOW);
      expect(of(commands, "replicaset.create")).to.deep.equal([]);
      expect(of(commands, "replicaset.update").map((u) => u.rs.spec.replicas)).to.deep.equal([5]);
      expect(of(commands, "deployment.status")[0]!.status.conditions?.find((c) => c.type === "Progressing")).to.include({ reason: "DeploymentPaused" });
    });

    it("marks Progressing False with ProgressDeadlineExceeded when nothing moved within the deadline", () => {
      const d = deploy({ progressDeadlineSeconds: 30 });
      const old = rsFor("v1", { replicas: 3, revision: 1 });
      const cur = rsFor("v2", { replicas: 1, available: 0, revision: 2, created: "2026-01-01T00:00:30Z" });
      d.status = {
        observedGeneration: 2, replicas: 4, updatedReplicas: 1, readyReplicas: 3, availableReplicas: 3, unavailableReplicas: 0,
        conditions: [
          { type: "Available", status: "True", reason: "MinimumReplicasAvailable", message: "Deployment has minimum availability.", lastUpdateTime: "2026-01-01T00:00:00Z", lastTransitionTime: "2026-01-01T00:00:00Z" },
          { type: "Progressing", status: "True", reason: "ReplicaSetUpdated", message: "x", lastUpdateTime: "2026-01-01T00:00:20Z", lastTransitionTime: "2026-01-01T00:00:00Z" },
        ],
      };
      const early = reconcileDeployment(d, [old, cur], Date.parse("2026-01-01T00:00:40Z"));
      expect(of(early.commands, "deployment.status")).to.deep.equal([]);
      expect(early.requeueAfterMs).to.be.within(10_000, 10_100);
      const late = reconcileDeployment(d, [old, cur], NOW);
      expect(of(late.commands, "deployment.status")[0]!.status.conditions?.find((c) => c.type === "Progressing")).to.include({ status: "False", reason: "ProgressDeadlineExceeded" });
    });

    it("ignores a ReplicaSet owned by another Deployment", () => {
      const foreign = rsFor("v2", { replicas: 3, revision: 1 });
      foreign.metadata.ownerReferences = [{ apiVersion: "apps/v1", kind: "Deployment", name: "other", uid: "other", controller: true }];
      const { commands } = reconcileDeployment(deploy(), [foreign], NOW);
      expect(of(commands, "replicaset.create")).to.have.length(1);
      expect(of(commands, "replicaset.update")).to.deep.equal([]);
    });
  });

  describe("rolling update, simulated to the end", () => {
    for (const [surge, unavailable] of [[1, 0], [0, 1], [2, 1], ["25%", "25%"]] as const) {
      it(`keeps available pods within [replicas - maxUnavailable, replicas + maxSurge] (maxSurge ${surge}, maxUnavailable ${unavailable})`, () => {
        const d = deploy({ replicas: 4, strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: surge, maxUnavailable: unavailable } } });
        const surgeN = typeof surge === "number" ? surge : 1;
        const unavailN = typeof unavailable === "number" ? unavailable : 1;
        let rss = [rsFor("v1", { replicas: 4, revision: 1 })];
        let t = NOW;
        for (let step = 0; step < 60; step++) {
          t += 1000;
          const { commands } = reconcileDeployment(d, rss, t);
          for (const c of commands) {
            if (c.type === "replicaset.create") rss.push({ ...c.rs, metadata: { ...c.rs.metadata, uid: `u${step}`, creationTimestamp: new Date(t).toISOString() }, status: { replicas: 0, availableReplicas: 0 } });
            if (c.type === "replicaset.update") rss = rss.map((r) => (r.metadata.name === c.rs.metadata.name ? { ...c.rs, status: r.status } : r));
            if (c.type === "deployment.status") d.status = c.status;
          }
          // The ReplicaSets' pods: scale-downs take effect at once, scale-ups become available one step later.
          rss = rss.map((r) => {
            const want = r.spec.replicas ?? 0;
            const have = r.status?.availableReplicas ?? 0;
            const next = want < have ? want : Math.min(want, (r.status?.replicas ?? 0));
            return { ...r, status: { replicas: want, readyReplicas: next, availableReplicas: next, observedGeneration: 1 } };
          });
          const available = rss.reduce((n, r) => n + (r.status?.availableReplicas ?? 0), 0);
          const total = rss.reduce((n, r) => n + (r.spec.replicas ?? 0), 0);
          expect(available, `step ${step}`).to.be.at.least(4 - unavailN);
          expect(total, `step ${step}`).to.be.at.most(4 + surgeN);
        }
        const newRs = rss.find((r) => equalIgnoreHash(r.spec.template, d.spec.template))!;
        expect(newRs.status?.availableReplicas).to.equal(4);
        expect(rss.filter((r) => r !== newRs).every((r) => r.spec.replicas === 0)).to.equal(true);
        expect(d.status?.conditions?.find((c) => c.type === "Progressing")?.reason).to.equal("NewReplicaSetAvailable");
      });
    }
  });
});
