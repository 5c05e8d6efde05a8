import { expect } from "chai";
import { unknownFields, checkFields } from "../../../actors/api-server/field-validation.ts";

const deployment = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", labels: { app: "web" } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: "web" } },
    template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "nginx", ports: [{ containerPort: 80 }] }] } },
  },
};

describe("api-server field validation", () => {
  it("finds no unknown field in a valid Deployment", () => {
    expect(unknownFields("Deployment", deployment)).to.deep.equal([]);
  });

  it("names unknown fields with their full path, down to containers", () => {
    const bad = structuredClone(deployment) as Record<string, any>;
    bad.spec.bogus = 1;
    bad.metadata.lables = {};
    bad.spec.template.spec.containers[0].imagee = "x";
    expect(unknownFields("Deployment", bad).sort()).to.deep.equal(["metadata.lables", "spec.bogus", "spec.template.spec.containers[0].imagee"]);
  });

  it("ignores strategic-merge directives in patches", () => {
    const patch = { spec: { template: { spec: { "$setElementOrder/containers": [{ name: "web" }], containers: [{ name: "web", image: "nginx:2" }] } } } };
    expect(unknownFields("Deployment", patch)).to.deep.equal([]);
  });

  it("rejects under Strict, warns under Warn (the default) and stays silent under Ignore", () => {
    const bad = { metadata: { name: "c" }, dta: {} };
    expect(() => checkFields("ConfigMap", bad, "Strict")).to.throw('strict decoding error: unknown field "dta"');
    expect(checkFields("ConfigMap", bad, null)).to.deep.equal(['unknown field "dta"']);
    expect(checkFields("ConfigMap", bad, "Ignore")).to.deep.equal([]);
    expect(() => checkFields("ConfigMap", bad, "Loose")).to.throw(/Unsupported value/);
  });
});
