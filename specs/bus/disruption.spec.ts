import { expect } from "chai";
import type { Pod } from "../../bus/resources.ts";
import type { PodDisruptionBudget } from "../../bus/disruption.ts";
import { budgetStatus, evictionVerdict, charged } from "../../bus/disruption.ts";

const now = new Date("2026-01-01T00:00:00Z");
const pod = (name: string, ready: boolean, labels = { app: "web" }): Pod =>
  ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "ns", labels },
    spec: { containers: [] },
    status: { phase: "Running", conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
  }) as unknown as Pod;
const pdb = (spec: PodDisruptionBudget["spec"]): PodDisruptionBudget => ({ apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: "web", namespace: "ns", generation: 1 }, spec });

describe("disruption budgets", () => {
  it("computes the status of a minAvailable budget from the ready pods it selects", () => {
    const s = budgetStatus(pdb({ minAvailable: 2, selector: { matchLabels: { app: "web" } } }), [pod("a", true), pod("b", true), pod("c", true), pod("d", false), pod("x", true, { app: "db" })], now);
    expect(s).to.include({ expectedPods: 4, currentHealthy: 3, desiredHealthy: 2, disruptionsAllowed: 1 });
    expect(s.conditions![0]).to.include({ type: "DisruptionAllowed", status: "True", reason: "SufficientPods" });
  });
  it("rounds a maxUnavailable percentage up", () => {
    const s = budgetStatus(pdb({ maxUnavailable: "30%", selector: { matchLabels: { app: "web" } } }), [pod("a", true), pod("b", true), pod("c", true)], now);
    expect(s).to.include({ desiredHealthy: 2, disruptionsAllowed: 1 });
  });
  it("refuses an eviction with TooManyRequests when no disruption is allowed, naming the budget", () => {
    const b = { ...pdb({ minAvailable: 2, selector: { matchLabels: { app: "web" } } }), status: { observedGeneration: 1, currentHealthy: 2, desiredHealthy: 2, disruptionsAllowed: 0, expectedPods: 2 } };
    expect(evictionVerdict([b], pod("a", true))).to.deep.equal({
      allow: false,
      code: "TooManyRequests",
      message: "Cannot evict pod as it would violate the pod's disruption budget.",
      cause: "The disruption budget web needs 2 healthy pods and has 2 currently",
    });
  });
  it("lets an eviction go and charges the budget when one disruption is allowed; a pod no budget covers goes free", () => {
    const b = { ...pdb({ minAvailable: 1, selector: { matchLabels: { app: "web" } } }), status: { observedGeneration: 1, currentHealthy: 2, desiredHealthy: 1, disruptionsAllowed: 1, expectedPods: 2 } };
    expect(evictionVerdict([b], pod("a", true))).to.deep.equal({ allow: true, charge: true });
    const after = charged(b, "a", now);
    expect(after.status).to.include({ disruptionsAllowed: 0 });
    expect(after.status!.disruptedPods).to.deep.equal({ a: "2026-01-01T00:00:00Z" });
    expect(evictionVerdict([after], pod("b", true)).allow).to.equal(false);
    expect(evictionVerdict([after], pod("z", true, { app: "db" }))).to.deep.equal({ allow: true, charge: false });
  });
  it("counts a pod evicted a moment ago as disrupted, not healthy", () => {
    const b = { ...pdb({ minAvailable: 1, selector: { matchLabels: { app: "web" } } }), status: { currentHealthy: 2, desiredHealthy: 1, disruptionsAllowed: 0, expectedPods: 2, disruptedPods: { a: "2025-12-31T23:59:50Z" } } };
    expect(budgetStatus(b, [pod("a", true), pod("b", true)], now)).to.include({ currentHealthy: 1, disruptionsAllowed: 0 });
  });
});
