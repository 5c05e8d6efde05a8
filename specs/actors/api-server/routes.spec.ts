import { expect } from "chai";
import { parseRoute } from "../../../actors/api-server/routes.ts";

const route = (method: string, url: string) => {
  const u = new URL(url, "https://x");
  return parseRoute(method, u.pathname, u.searchParams);
};

describe("api-server routes", () => {
  it("maps a namespaced item with a subresource in a named group", () => {
    const r = route("GET", "/apis/apps/v1/namespaces/default/deployments/web/scale");
    expect(r).to.include({ type: "resource", namespace: "default", name: "web", subresource: "scale", verb: "get" });
    expect(r.type === "resource" && r.rt.kind).to.equal("Deployment");
  });

  it("maps a collection GET to list, or watch with watch=true", () => {
    expect(route("GET", "/api/v1/namespaces/default/pods?limit=500")).to.include({ type: "resource", verb: "list", namespace: "default" });
    expect(route("GET", "/api/v1/pods?watch=true")).to.include({ type: "resource", verb: "watch" });
    expect(route("GET", "/api/v1/pods?watch=true")).to.not.have.property("namespace");
  });

  it("understands the legacy /watch/ prefix", () => {
    expect(route("GET", "/api/v1/watch/namespaces/kube-system/pods")).to.include({ verb: "watch", namespace: "kube-system" });
  });

  it("treats /api/v1/namespaces/<name> and its status as the Namespace itself", () => {
    const r = route("GET", "/api/v1/namespaces/prod");
    expect(r).to.include({ type: "resource", name: "prod", verb: "get" });
    expect(r.type === "resource" && r.rt.resource).to.equal("namespaces");
    expect(route("PUT", "/api/v1/namespaces/prod/status")).to.include({ name: "prod", subresource: "status", verb: "update" });
  });

  it("maps cluster-scoped nodes without a namespace", () => {
    const r = route("PATCH", "/api/v1/nodes/n1");
    expect(r).to.include({ type: "resource", name: "n1", verb: "patch" });
    expect(r).to.not.have.property("namespace");
  });

  it("maps write methods to create, update, patch, delete and deletecollection", () => {
    expect(route("POST", "/api/v1/namespaces/d/pods")).to.include({ verb: "create" });
    expect(route("PUT", "/api/v1/namespaces/d/pods/p")).to.include({ verb: "update" });
    expect(route("DELETE", "/api/v1/namespaces/d/pods/p")).to.include({ verb: "delete" });
    expect(route("DELETE", "/api/v1/namespaces/d/pods")).to.include({ verb: "deletecollection" });
    expect(route("POST", "/api/v1/namespaces/d/pods/p/eviction")).to.include({ verb: "create", subresource: "eviction" });
    expect(route("POST", "/api/v1/namespaces/d/pods/p/binding")).to.include({ verb: "create", subresource: "binding" });
  });

  it("answers unknown resources, groups and subresources as not found", () => {
    expect(route("GET", "/api/v1/namespaces/d/widgets").type).to.equal("not-found");
    expect(route("GET", "/apis/example.com/v1/widgets").type).to.equal("not-found");
    expect(route("GET", "/api/v1/namespaces/d/configmaps/c/scale").type).to.equal("not-found");
    expect(route("GET", "/api/v1/namespaces/d/nodes").type).to.equal("not-found");
  });

  it("refuses methods a path does not take", () => {
    expect(route("POST", "/api/v1/namespaces/d/pods/p").type).to.equal("method-not-allowed");
    expect(route("DELETE", "/version").type).to.equal("method-not-allowed");
  });

  it("maps discovery, openapi, version, health, actors and ui paths", () => {
    expect(route("GET", "/version?timeout=5s")).to.deep.equal({ type: "version" });
    expect(route("GET", "/readyz")).to.deep.equal({ type: "health", check: "readyz" });
    expect(route("GET", "/api")).to.deep.equal({ type: "core-versions" });
    expect(route("GET", "/apis")).to.deep.equal({ type: "groups" });
    expect(route("GET", "/apis/apps")).to.deep.equal({ type: "group", group: "apps" });
    expect(route("GET", "/apis/coordination.k8s.io/v1")).to.deep.equal({ type: "group-version", group: "coordination.k8s.io", version: "v1" });
    expect(route("GET", "/api/v1")).to.deep.equal({ type: "group-version", group: "", version: "v1" });
    expect(route("GET", "/openapi/v3")).to.deep.equal({ type: "openapi-index" });
    expect(route("GET", "/openapi/v3/apis/apps/v1?hash=X")).to.deep.equal({ type: "openapi-gv", group: "apps", version: "v1" });
    expect(route("GET", "/flotilla/v1/actors")).to.deep.equal({ type: "actors" });
    expect(route("GET", "/ui/assets/app.js")).to.deep.equal({ type: "ui", path: "/assets/app.js" });
  });
});
