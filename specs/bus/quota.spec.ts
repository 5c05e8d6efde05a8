import { expect } from "chai";
import type { KubeObject, Pod } from "../../bus/resources.ts";
import { usageOf, usageOfAll, exceeded, exceededMessage, parseAmounts, formatAmounts, missingSpecs, trackedTypes } from "../../bus/quota.ts";

const pod = (name: string, resources: { requests?: Record<string, string>; limits?: Record<string, string> }, phase = "Running"): Pod =>
  ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "ns" }, spec: { containers: [{ name: "c", image: "i", resources }] }, status: { phase } }) as Pod;

describe("quota arithmetic", () => {
  it("counts a pod's count, requests and limits (a limit stands in for a missing request)", () => {
    const u = usageOf("pods", "", pod("a", { requests: { cpu: "250m" }, limits: { cpu: "1", memory: "128Mi" } }));
    expect(u).to.include({ pods: 1, "count/pods": 1, "requests.cpu": 250, cpu: 250, "limits.cpu": 1000, "requests.memory": 134217728, "limits.memory": 134217728 });
  });
  it("does not count finished pods", () => {
    expect(usageOf("pods", "", pod("a", {}, "Succeeded"))).to.deep.equal({});
  });
  it("counts other kinds by count/<resource>.<group>", () => {
    const d = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d" } } as KubeObject;
    expect(usageOf("deployments", "apps", d)).to.deep.equal({ "count/deployments.apps": 1 });
    expect(usageOf("configmaps", "", d)).to.deep.equal({ "count/configmaps": 1, configmaps: 1 });
  });
  it("sums the usage of several objects for the tracked keys", () => {
    const used = usageOfAll("pods", "", [pod("a", { requests: { cpu: "100m" } }), pod("b", { requests: { cpu: "300m" } })], ["pods", "requests.cpu"]);
    expect(formatAmounts(used)).to.deep.equal({ pods: "2", "requests.cpu": "400m" });
  });
  it("refuses what would pass a hard limit, worded as Kubernetes words it", () => {
    const hard = parseAmounts({ pods: "2", "requests.cpu": "1" });
    expect(exceeded(hard, { pods: 1, "requests.cpu": 500 }, { pods: 1, "requests.cpu": 500 })).to.equal(undefined);
    const e = exceeded(hard, { pods: 2, "requests.cpu": 900 }, { pods: 1, "requests.cpu": 200 })!;
    expect(exceededMessage("q", e)).to.equal("exceeded quota: q, requested: pods=1,requests.cpu=200m, used: pods=2,requests.cpu=900m, limited: pods=2,requests.cpu=1");
  });
  it("names containers that lack an amount the quota tracks", () => {
    expect(missingSpecs(parseAmounts({ "limits.memory": "1Gi" }), pod("a", { requests: { memory: "1Mi" } }))).to.deep.equal(["limits.memory for: c"]);
  });
  it("knows which types a quota's keys count", () => {
    expect(trackedTypes(parseAmounts({ pods: "1", "requests.cpu": "1", "count/deployments.apps": "3", secrets: "4" }))).to.deep.equal([
      { resource: "pods", group: "" },
      { resource: "deployments", group: "apps" },
      { resource: "secrets", group: "" },
    ]);
  });
});
