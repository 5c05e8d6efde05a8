import { expect } from "chai";
import type { ClusterRole } from "../../../bus/resources.ts";
import { reconcile } from "../../../actors/clusterrole-aggregation-controller/aggregate.ts";

const cr = (name: string, o: Partial<ClusterRole> = {}): ClusterRole => ({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name, ...(o.metadata ?? {}) }, ...o }) as ClusterRole;
const label = { "rbac.example.com/aggregate-to-monitoring": "true" };
const monitoring = cr("monitoring", { aggregationRule: { clusterRoleSelectors: [{ matchLabels: label }] }, rules: [] });
const pods = { apiGroups: [""], resources: ["pods"], verbs: ["get"] };
const nodes = { apiGroups: [""], resources: ["nodes"], verbs: ["get"] };

describe("clusterrole-aggregation-controller", () => {
  it("fills an aggregated ClusterRole with the rules of the labelled ones, in name order, each rule once", () => {
    const all = [monitoring, cr("b-nodes", { metadata: { name: "b-nodes", labels: label }, rules: [nodes, pods] }), cr("a-pods", { metadata: { name: "a-pods", labels: label }, rules: [pods] }), cr("other", { rules: [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }] })];
    const d = reconcile("monitoring", { clusterRole: monitoring, all });
    expect(d.commands).to.deep.equal([{ type: "clusterrole.update", clusterRole: { ...monitoring, rules: [pods, nodes] } }]);
    expect(monitoring.rules, "the cached object is not changed").to.deep.equal([]);
  });

  it("writes nothing when the rules are already right, or for a ClusterRole without an aggregationRule", () => {
    const filled = { ...monitoring, rules: [pods] };
    const all = [filled, cr("a-pods", { metadata: { name: "a-pods", labels: label }, rules: [pods] })];
    expect(reconcile("monitoring", { clusterRole: filled, all }).commands).to.deep.equal([]);
    expect(reconcile("other", { clusterRole: cr("other", { rules: [] }), all }).commands).to.deep.equal([]);
    expect(reconcile("gone", { all }).commands).to.deep.equal([]);
  });

  it("empties the rules when no ClusterRole matches any more", () => {
    const filled = { ...monitoring, rules: [pods] };
    expect(reconcile("monitoring", { clusterRole: filled, all: [filled] }).commands).to.deep.equal([{ type: "clusterrole.update", clusterRole: { ...filled, rules: [] } }]);
  });
});
