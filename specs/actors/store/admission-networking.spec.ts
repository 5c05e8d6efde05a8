import { expect } from "chai";
import { create, rejected, fieldsOf, minimal } from "./admission.fixtures.ts";

describe("store admission of networking kinds", () => {
  it("defaults a NetworkPolicy's policyTypes from its rules and its ports to TCP", () => {
    const np = minimal("networkpolicies");
    np.spec = { podSelector: {}, egress: [{ ports: [{ port: 53 }] }] };
    const out = create("networkpolicies", np);
    expect((out.spec as { policyTypes: string[] }).policyTypes).to.deep.equal(["Ingress", "Egress"]);
    expect((out.spec as { egress: { ports: { protocol: string }[] }[] }).egress[0]!.ports[0]!.protocol).to.equal("TCP");
  });
  it("refuses an ipBlock except outside its cidr, and an ipBlock beside a selector", () => {
    const np = minimal("networkpolicies");
    np.spec = { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/16", except: ["10.1.0.0/24"] } }, { ipBlock: { cidr: "10.0.0.0/8" }, podSelector: {} }] }] };
    const e = rejected(() => create("networkpolicies", np));
    expect(fieldsOf(e)).to.include.members(["spec.ingress[0].from[0].ipBlock.except[0]", "spec.ingress[0].from[1]"]);
  });
  it("refuses an Ingress path without pathType and a backend with both port name and number", () => {
    const ing = minimal("ingresses");
    ing.spec = { rules: [{ host: "foo.test", http: { paths: [{ path: "/", backend: { service: { name: "web", port: { name: "http", number: 80 } } } }] } }] };
    const e = rejected(() => create("ingresses", ing));
    expect(fieldsOf(e)).to.include.members(["spec.rules[0].http.paths[0].pathType", "spec.rules[0].http.paths[0].backend.service.port"]);
  });
  it("refuses an EndpointSlice address that is not of its addressType", () => {
    const s = minimal("endpointslices");
    (s as unknown as { endpoints: { addresses: string[] }[] }).endpoints = [{ addresses: ["fd00::1"] }];
    expect(fieldsOf(rejected(() => create("endpointslices", s)))).to.include("endpoints[0].addresses[0]");
  });
  it("refuses an IngressClass controller that is not a domain-prefixed path", () => {
    const c = minimal("ingressclasses");
    c.spec = { controller: "nginx" };
    expect(fieldsOf(rejected(() => create("ingressclasses", c)))).to.include("spec.controller");
  });
});
