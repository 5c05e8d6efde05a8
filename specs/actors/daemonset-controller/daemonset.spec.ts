import { expect } from "chai";
import type { DsCommand } from "../../../actors/daemonset-controller/daemonset.ts";
import { reconcileDaemonSet } from "../../../actors/daemonset-controller/daemonset.ts";
import { placement } from "../../../actors/daemonset-controller/placement.ts";
import { isPodAvailable } from "../../../actors/replication-controller/pods.ts";
import { World, daemonSet, node, readyCondition, T0 } from "./world.ts";

const of = <T extends DsCommand["type"]>(cs: readonly DsCommand[], type: T) => cs.filter((c): c is Extract<DsCommand, { type: T }> => c.type === type);
const step = (w: World, satisfied = true) => {
  const d = reconcileDaemonSet("default/agent", w.view(satisfied), w.now);
  w.apply(d.commands);
  return d;
};
/** Runs passes (pods turning Ready between them) until nothing but status changes. */
function converge(w: World, onPass?: (w: World) => void, max = 50): number {
  for (let i = 0; i < max; i++) {
    const d = step(w);
    onPass?.(w);
    const work = d.commands.filter((c) => c.type !== "daemonset.status" && c.type !== "expectations.set");
    w.now += 1000;
    w.readyAll();
    if (work.length === 0 && d.commands.every((c) => c.type !== "daemonset.status")) return i;
  }
  throw new Error("did not converge");
}

describe("daemonset controller › reconcileDaemonSet", () => {
  describe("on a DaemonSet over three nodes", () => {
    it("creates its first revision and one pod per node, each pinned to its node through metadata.name node affinity", () => {
      const w = new World(daemonSet(), [node("n1"), node("n2"), node("n3")]);
      const d = reconcileDaemonSet("default/agent", w.view(), w.now);
      const [rev] = of(d.commands, "revision.create");
      expect(rev!.revision.revision).to.equal(1);
      expect(rev!.revision.metadata.name).to.match(/^agent-[a-z0-9]+$/);
      expect((rev!.revision.data as { spec: { template: Record<string, unknown> } }).spec.template.$patch).to.equal("replace");
      const [create] = of(d.commands, "pods.create");
      expect(create!.pods).to.have.length(3);
      const hash = rev!.revision.metadata.labels!["controller-revision-hash"];
      create!.pods.forEach((p, i) => {
        expect(p.metadata.generateName).to.equal("agent-");
        expect(p.metadata.labels).to.deep.equal({ app: "agent", "controller-revision-hash": hash });
        expect(p.metadata.ownerReferences).to.deep.equal([{ apiVersion: "apps/v1", kind: "DaemonSet", name: "agent", uid: "ds-uid", controller: true, blockOwnerDeletion: true }]);
        expect(p.spec.nodeName).to.equal(undefined);
        expect(p.spec.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution).to.deep.equal({
          nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: [`n${i + 1}`] }] }],
        });
      });
      expect(of(d.commands, "expectations.set")).to.deep.equal([{ type: "expectations.set", creates: 3, deleteUids: [] }]);
    });

    it("adds the default daemon tolerations (not-ready, unreachable without a time limit; pressure and unschedulable)", () => {
      const w = new World(daemonSet(), [node("n1")]);
      const [create] = of(reconcileDaemonSet("k", w.view(), w.now).commands, "pods.create");
      expect(create!.pods[0]!.spec.tolerations).to.deep.equal([
        { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
        { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
        { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
        { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
        { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
        { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
      ]);
      const host = new World(daemonSet({ template: { metadata: { labels: { app: "agent" } }, spec: { containers: [{ name: "a" }], hostNetwork: true } } }), [node("n1")]);
      const [hc] = of(reconcileDaemonSet("k", host.view(), host.now).commands, "pods.create");
      expect(hc!.pods[0]!.spec.tolerations!.map((t) => t.key)).to.include("node.kubernetes.io/network-unavailable");
    });

    it("reports desired, current, ready, up-to-date and available once the pods run", () => {
      const w = new World(daemonSet(), [node("n1"), node("n2"), node("n3")]);
      converge(w);
      expect(w.ds.status).to.deep.include({
        desiredNumberScheduled: 3,
        currentNumberScheduled: 3,
        numberReady: 3,
        updatedNumberScheduled: 3,
        numberAvailable: 3,
        numberUnavailable: 0,
        numberMisscheduled: 0,
        observedGeneration: 1,
      });
    });

    it("gives a node that joins its pod, and nothing else changes", () => {
      const w = new World(daemonSet(), [node("n1"), node("n2"), node("n3")]);
      converge(w);
      w.nodes.push(node("n4"));
      const d = reconcileDaemonSet("k", w.view(), w.now);
      const [create] = of(d.commands, "pods.create");
      expect(create!.pods.map((p) => p.spec.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms[0]!.matchFields![0]!.values)).to.deep.equal([["n4"]]);
      expect(of(d.commands, "pods.delete")).to.deep.equal([]);
    });

    it("keeps a pod on a node newly tainted NoSchedule but stops counting the node; a NoExecute taint removes the pod", () => {
      const w = new World(daemonSet(), [node("n1"), node("n2"), node("n3")]);
      converge(w);
      w.nodes[2] = node("n3", { taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }] });
      const d = step(w);
      expect(of(d.commands, "pods.delete")).to.deep.equal([]);
      expect(of(d.commands, "pods.create")).to.deep.equal([]);
      expect(w.ds.status).to.deep.include({ desiredNumberScheduled: 2, numberMisscheduled: 1, currentNumberScheduled: 2 });
      w.nodes[2] = node("n3", { taints: [{ key: "dedicated", value: "db", effect: "NoExecute" }] });
      const [del] = of(step(w).commands, "pods.delete");
      expect(del!.pods.map((p) => p.force)).to.deep.equal([false]);
      expect(w.podsOn("n3")).to.deep.equal([]);
    });

    it("does not place a pod on a new node tainted NoSchedule", () => {
      const w = new World(daemonSet(), [node("n1"), node("db", { taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }] })]);
      const [create] = of(step(w).commands, "pods.create");
      expect(create!.pods).to.have.length(1);
    });

    it("removes the pod of a node that left the cluster without waiting for its kubelet", () => {
      const w = new World(daemonSet(), [node("n1"), node("n2")]);
      converge(w);
      const uid = w.podsOn("n2")[0]!.metadata.uid;
      w.nodes.pop();
      const [del] = of(step(w).commands, "pods.delete");
      expect(del!.pods).to.deep.equal([{ name: w.podsOn("n2")[0]?.metadata.name ?? del!.pods[0]!.name, uid, force: true }]);
    });
  });

  describe("placement", () => {
    const tpl = (spec: Record<string, unknown>) => ({ metadata: {}, spec: { containers: [{ name: "a" }], ...spec } }) as never;
    it("honours nodeSelector, required node affinity and nodeName", () => {
      const ssd = node("a", { labels: { disk: "ssd" } });
      const hdd = node("b", { labels: { disk: "hdd" } });
      expect(placement(tpl({ nodeSelector: { disk: "ssd" } }), ssd).shouldRun).to.equal(true);
      expect(placement(tpl({ nodeSelector: { disk: "ssd" } }), hdd)).to.deep.equal({ shouldRun: false, shouldContinueRunning: false });
      const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "disk", operator: "NotIn", values: ["ssd"] }] }] } } };
      expect(placement(tpl({ affinity }), ssd).shouldRun).to.equal(false);
      expect(placement(tpl({ affinity }), hdd).shouldRun).to.equal(true);
      expect(placement(tpl({ nodeName: "b" }), ssd).shouldRun).to.equal(false);
    });

    it("runs on cordoned, not-ready and unreachable nodes, as daemons do", () => {
      const trouble = node("x", {
        taints: [
          { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" },
          { key: "node.kubernetes.io/unreachable", effect: "NoExecute" },
          { key: "node.kubernetes.io/not-ready", effect: "NoSchedule" },
        ],
      });
      const spec = tpl({ tolerations: [{ key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoSchedule" }] });
      expect(placement(spec, trouble)).to.deep.equal({ shouldRun: true, shouldContinueRunning: true });
    });
  });

  describe("failed pods", () => {
    it("deletes a failed daemon pod with a FailedDaemonPod event, then backs off on that node", () => {
      const w = new World(daemonSet(), [node("n1")]);
      converge(w);
      w.pods[0]!.status = { phase: "Failed" };
      const d = step(w);
      expect(of(d.commands, "pods.delete")[0]!.pods).to.have.length(1);
      expect(of(d.commands, "node.backoff")).to.deep.equal([{ type: "node.backoff", node: "n1" }]);
      expect(w.events[0]).to.match(/^FailedDaemonPod: Found failed daemon pod default\/agent-\d+ on node n1, will try to kill it$/);
      step(w);
      w.pods[0]!.status = { phase: "Failed" };
      const again = reconcileDaemonSet("k", w.view(), w.now);
      expect(of(again.commands, "pods.delete")).to.deep.equal([]);
      expect(again.requeueAfterMs).to.equal(10_000);
    });
  });

  describe("rolling update", () => {
    function rollout(nodes: number, strategy: Record<string, unknown>) {
      const w = new World(daemonSet({ updateStrategy: strategy as never }), Array.from({ length: nodes }, (_, i) => node(`n${i + 1}`)));
      converge(w);
      w.ds = { ...w.ds, metadata: { ...w.ds.metadata, generation: 2 }, spec: { ...w.ds.spec, template: { ...w.ds.spec.template, spec: { ...w.ds.spec.template.spec, containers: [{ name: "agent", image: "agent:2" }] } } } };
      return w;
    }
    const unavailable = (w: World) => w.nodes.filter((n) => !w.podsOn(n.metadata.name!).some((p) => isPodAvailable(p, 0, w.now))).length;

    it("replaces old pods with maxUnavailable 1 without ever leaving two nodes without an available pod", () => {
      const w = rollout(4, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
      let worst = 0;
      converge(w, (x) => (worst = Math.max(worst, unavailable(x))));
      expect(worst).to.equal(1);
      expect(w.pods.map((p) => p.spec.containers[0]!.image)).to.deep.equal(["agent:2", "agent:2", "agent:2", "agent:2"]);
      expect(w.revisions.map((r) => r.revision).sort()).to.deep.equal([1, 2]);
      expect(w.ds.status).to.deep.include({ updatedNumberScheduled: 4, numberAvailable: 4, observedGeneration: 2 });
    });

    it("counts an old pod that is not available as unavailable: it is replaced, and no available pod goes with it", () => {
      const w = rollout(4, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
      const starting = w.podsOn("n4")[0]!;
      starting.status = { phase: "Running", conditions: [{ type: "Ready", status: "False", lastTransitionTime: new Date(w.now).toISOString() }] };
      const [del] = of(step(w).commands, "pods.delete");
      expect(del!.pods.map((p) => p.name)).to.deep.equal([starting.metadata.name]);
    });

    it("with maxUnavailable 50% replaces two nodes at a time", () => {
      const w = rollout(4, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "50%", maxSurge: 0 } });
      const [del] = of(step(w).commands, "pods.delete");
      expect(del!.pods).to.have.length(2);
    });

    it("with maxSurge 1 starts the new pod next to the old one and keeps every node available", () => {
      const w = rollout(3, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
      let worst = 0;
      let most = 0;
      converge(w, (x) => {
        worst = Math.max(worst, unavailable(x));
        most = Math.max(most, x.pods.length);
      });
      expect(worst).to.equal(0);
      expect(most).to.equal(4);
      expect(w.pods.map((p) => p.spec.containers[0]!.image)).to.deep.equal(["agent:2", "agent:2", "agent:2"]);
    });

    it("with OnDelete replaces nothing, and a pod the user deletes comes back at the new revision", () => {
      const w = rollout(2, { type: "OnDelete" });
      const d = step(w);
      expect(of(d.commands, "pods.delete")).to.deep.equal([]);
      expect(w.ds.status).to.deep.include({ updatedNumberScheduled: 0 });
      w.pods = w.pods.slice(1);
      const [create] = of(step(w).commands, "pods.create");
      expect(create!.pods[0]!.spec.containers[0]!.image).to.equal("agent:2");
    });

    it("rolls back to an earlier template by renumbering its revision instead of making a new one", () => {
      const w = rollout(2, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
      converge(w);
      const first = w.revisions.find((r) => r.revision === 1)!;
      w.ds = { ...w.ds, spec: { ...w.ds.spec, template: daemonSet().spec.template } };
      const d = step(w);
      expect(of(d.commands, "revision.create")).to.deep.equal([]);
      const [renumber] = of(d.commands, "revision.update");
      expect(renumber!.revision.metadata.name).to.equal(first.metadata.name);
      expect(renumber!.revision.revision).to.equal(3);
      converge(w);
      expect(w.pods.map((p) => p.metadata.labels!["controller-revision-hash"])).to.deep.equal([first.metadata.labels!["controller-revision-hash"], first.metadata.labels!["controller-revision-hash"]]);
    });

    it("keeps revisionHistoryLimit old revisions that no pod uses, deleting the oldest", () => {
      const w = new World(daemonSet({ revisionHistoryLimit: 1 }), [node("n1")]);
      converge(w);
      for (const image of ["agent:2", "agent:3"]) {
        w.ds = { ...w.ds, spec: { ...w.ds.spec, template: daemonSet({}, image).spec.template } };
        converge(w);
      }
      expect(w.revisions.map((r) => r.revision).sort()).to.deep.equal([2, 3]);
    });
  });

  describe("ownership and expectations", () => {
    it("adopts a matching orphan pod and releases an owned pod the selector no longer matches", () => {
      const w = new World(daemonSet(), [node("n1")]);
      converge(w);
      const orphan = structuredClone(w.pods[0]!);
      orphan.metadata = { ...orphan.metadata, name: "stray", uid: "stray", ownerReferences: undefined };
      orphan.spec.nodeName = "n1";
      const mine = w.pods[0]!;
      mine.metadata.labels = { app: "other" };
      w.pods.push(orphan);
      const d = reconcileDaemonSet("k", w.view(), w.now);
      expect(of(d.commands, "pod.adopt").map((c) => c.pod.metadata.name)).to.deep.equal(["stray"]);
      expect(of(d.commands, "pod.release").map((c) => c.pod.metadata.ownerReferences)).to.deep.equal([undefined]);
    });

    it("only reports status while earlier creates are unobserved, keeping the old observedGeneration", () => {
      const w = new World(daemonSet(), [node("n1"), node("n2")]);
      w.ds.metadata.generation = 3;
      w.ds.status = { ...w.ds.status!, observedGeneration: 2 };
      const d = reconcileDaemonSet("k", w.view(false), w.now);
      expect(d.commands.map((c) => c.type)).to.deep.equal(["revision.create", "daemonset.status"]);
      expect(of(d.commands, "daemonset.status")[0]!.status.observedGeneration).to.equal(2);
    });

    it("does nothing for a DaemonSet that is being deleted", () => {
      const w = new World(daemonSet(), [node("n1")]);
      w.ds.metadata.deletionTimestamp = new Date(T0).toISOString();
      expect(reconcileDaemonSet("k", w.view(), w.now)).to.deep.equal({ commands: [] });
    });

    it("comes back when a ready pod will have been ready for minReadySeconds", () => {
      const w = new World(daemonSet({ minReadySeconds: 30 }), [node("n1")]);
      step(w);
      w.pods[0]!.status = { phase: "Running", conditions: readyCondition(w.now - 10_000) };
      expect(reconcileDaemonSet("k", w.view(), w.now).requeueAfterMs).to.equal(20_010);
    });
  });
});
