import { expect } from "chai";
import { applyDefaults, prune, validateSchema, structuralErrors } from "../../bus/structural.ts";

const schema = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      required: ["size"],
      properties: {
        size: { type: "integer", minimum: 1, maximum: 10 },
        color: { type: "string", enum: ["red", "blue"], default: "red" },
        name: { type: "string", pattern: "^[a-z]+$", minLength: 2, maxLength: 5 },
        port: { "x-kubernetes-int-or-string": true },
        tags: { type: "array", items: { type: "string" } },
        labels: { type: "object", additionalProperties: { type: "string" } },
        free: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        nested: { type: "object", default: {}, properties: { depth: { type: "integer", default: 3 } } },
      },
    },
  },
};

describe("structural schemas", () => {
  describe("defaulting", () => {
    it("fills missing fields with their defaults, and the defaults of a defaulted object's fields", () => {
      const o = { spec: { size: 2 } };
      applyDefaults(schema, o);
      expect(o.spec).to.deep.equal({ size: 2, color: "red", nested: { depth: 3 } });
    });
    it("leaves a given value alone", () => {
      const o = { spec: { size: 2, color: "blue" } };
      applyDefaults(schema, o);
      expect(o.spec.color).to.equal("blue");
    });
  });

  describe("pruning", () => {
    it("removes unknown fields, keeps apiVersion/kind/metadata, and answers what it removed", () => {
      const o: Record<string, unknown> = { apiVersion: "x/v1", kind: "W", metadata: { name: "a" }, spec: { size: 1, bogus: true, labels: { a: "b" } }, other: 1 };
      expect(prune(schema, o).sort()).to.deep.equal(["other", "spec.bogus"]);
      expect(o).to.deep.equal({ apiVersion: "x/v1", kind: "W", metadata: { name: "a" }, spec: { size: 1, labels: { a: "b" } } });
    });
    it("keeps everything under x-kubernetes-preserve-unknown-fields", () => {
      const o = { spec: { size: 1, free: { anything: { goes: [1] } } } };
      expect(prune(schema, o)).to.deep.equal([]);
      expect(o.spec.free).to.deep.equal({ anything: { goes: [1] } });
    });
  });

  describe("validation", () => {
    const causes = (v: unknown) => validateSchema(schema, v).map((c) => `${c.field}: ${c.message}`);
    it("accepts a valid object", () => {
      expect(causes({ spec: { size: 5, color: "red", name: "abc", port: "http", tags: ["a"], labels: { a: "b" } } })).to.deep.equal([]);
    });
    it("names a missing required field", () => {
      expect(causes({ spec: {} })).to.deep.equal(["spec.size: Required value"]);
    });
    it("words type, range, enum, pattern and length errors as Kubernetes does", () => {
      expect(causes({ spec: { size: "big" } })).to.deep.equal(['spec.size: Invalid value: "big": spec.size in body must be of type integer: "string"']);
      expect(causes({ spec: { size: 0 } })).to.deep.equal(["spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1"]);
      expect(causes({ spec: { size: 11 } })).to.deep.equal(["spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10"]);
      expect(causes({ spec: { size: 1, color: "green" } })).to.deep.equal(['spec.color: Unsupported value: "green": supported values: "red", "blue"']);
      expect(causes({ spec: { size: 1, name: "A" } })).to.deep.equal([
        'spec.name: Invalid value: "A": spec.name in body should be at least 2 chars long',
        "spec.name: Invalid value: \"A\": spec.name in body should match '^[a-z]+$'",
      ]);
      expect(causes({ spec: { size: 1, name: "abcdefg" } })).to.deep.equal(["spec.name: Too long: may not be more than 5 bytes"]);
    });
    it("checks array items and additionalProperties by their schemas, and int-or-string", () => {
      expect(causes({ spec: { size: 1, tags: ["a", 2], labels: { a: 1 }, port: 1.5 } })).to.have.members([
        'spec.port: Invalid value: 1.5: spec.port in body must be of type integer or string: "number"',
        'spec.tags[1]: Invalid value: 2: spec.tags[1] in body must be of type string: "integer"',
        'spec.labels.a: Invalid value: 1: spec.labels.a in body must be of type string: "integer"',
      ]);
    });
  });

  describe("structural checks of a CRD's schema", () => {
    it("requires a type on every field that does not preserve unknown fields", () => {
      const errs = structuralErrors({ type: "object", properties: { spec: { properties: { a: { type: "string" } } } } }, "spec.versions[0].schema.openAPIV3Schema");
      expect(errs.map((e) => e.field)).to.deep.equal(["spec.versions[0].schema.openAPIV3Schema.properties[spec].type"]);
    });
  });
});
