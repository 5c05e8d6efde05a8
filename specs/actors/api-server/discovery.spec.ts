import { expect } from "chai";
import { VERSION_INFO, resourceList, groupList, coreVersions } from "../../../actors/api-server/discovery.ts";
import { openapiIndex, openapiDocument } from "../../../actors/api-server/openapi.ts";

type Res = { name: string; kind: string; verbs: string[]; group?: string; version?: string; shortNames?: string[]; categories?: string[] };

describe("api-server discovery", () => {
  it("reports version 1.32 so kubectl's dispatcher runs kubectl 1.32", () => {
    expect(VERSION_INFO).to.include({ major: "1", minor: "32", gitVersion: "v1.32.0-flotilla", platform: "linux/amd64" });
  });

  it("lists pods with short names, the all category and every subresource", () => {
    const list = resourceList("");
    expect(list).to.include({ kind: "APIResourceList", groupVersion: "v1" });
    const byName = new Map((list.resources as Res[]).map((r) => [r.name, r]));
    expect(byName.get("pods")).to.deep.include({ kind: "Pod", shortNames: ["po"], categories: ["all"] });
    expect(byName.get("pods")!.verbs).to.include.members(["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]);
    expect(byName.get("pods/eviction")).to.deep.include({ group: "policy", version: "v1", kind: "Eviction", verbs: ["create"] });
    expect(byName.get("pods/binding")).to.deep.include({ kind: "Binding", verbs: ["create"] });
    expect(byName.get("pods/log")).to.deep.include({ kind: "Pod", verbs: ["get"] });
    expect(byName.get("pods/status")!.verbs).to.deep.equal(["get", "patch", "update"]);
    expect(byName.get("replicationcontrollers/scale")).to.deep.include({ group: "autoscaling", version: "v1", kind: "Scale" });
    expect(byName.get("nodes")).to.deep.include({ namespaced: false, shortNames: ["no"] });
  });

  it("lists apps/v1 deployments with their scale subresource", () => {
    const list = resourceList("apps");
    expect(list.groupVersion).to.equal("apps/v1");
    const names = (list.resources as Res[]).map((r) => r.name);
    expect(names).to.include.members(["deployments", "deployments/scale", "deployments/status", "replicasets", "replicasets/scale"]);
  });

  it("names every API group with its preferred version", () => {
    const groups = groupList().groups.map((g) => g.name);
    expect(groups).to.include.members(["apps", "coordination.k8s.io"]);
    expect(groupList().groups[0]!.preferredVersion.groupVersion).to.match(/\/v1$/);
    expect(coreVersions("127.0.0.1:6443").serverAddressByClientCIDRs[0]!.serverAddress).to.equal("127.0.0.1:6443");
  });

  it("indexes one OpenAPI v3 document per group/version", () => {
    const idx = openapiIndex() as { paths: Record<string, { serverRelativeURL: string }> };
    expect(Object.keys(idx.paths)).to.include.members(["api/v1", "apis/apps/v1", "apis/coordination.k8s.io/v1"]);
    expect(idx.paths["apis/apps/v1"]!.serverRelativeURL).to.match(/^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]+$/);
  });

  it("gives every kind a PATCH operation with its GVK and its own fieldValidation parameter", () => {
    const doc = openapiDocument("apps") as { paths: Record<string, Record<string, { "x-kubernetes-group-version-kind"?: unknown; parameters?: { name: string }[] }>> };
    const patch = doc.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]!.patch!;
    expect(patch["x-kubernetes-group-version-kind"]).to.deep.equal({ group: "apps", version: "v1", kind: "Deployment" });
    expect(patch.parameters!.map((p) => p.name)).to.include("fieldValidation");
    const core = openapiDocument("") as { paths: Record<string, Record<string, unknown>> };
    expect(core.paths).to.have.property("/api/v1/nodes/{name}");
    expect(core.paths).to.have.property("/api/v1/namespaces/{namespace}/pods/{name}");
  });

  it("carries strategic-merge keys in the component schemas", () => {
    const doc = openapiDocument("") as { components: { schemas: Record<string, { properties?: Record<string, Record<string, unknown>> }> } };
    const container = doc.components.schemas["io.k8s.api.core.v1.Container"]!;
    expect(container.properties!.ports!["x-kubernetes-patch-merge-key"]).to.equal("containerPort");
    expect(container.properties!.env!["x-kubernetes-patch-merge-key"]).to.equal("name");
    const podSpec = doc.components.schemas["io.k8s.api.core.v1.PodSpec"]!;
    expect(podSpec.properties!.containers!["x-kubernetes-patch-merge-key"]).to.equal("name");
    expect(doc.components.schemas).to.have.property("io.k8s.api.core.v1.Pod");
  });
});
