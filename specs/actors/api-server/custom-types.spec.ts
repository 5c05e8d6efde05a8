import { expect } from "chai";
import type { CustomResourceDefinition } from "../../../bus/crd.ts";
import { ResourceCatalog } from "../../../bus/catalog.ts";
import { customTypeOf } from "../../../bus/crd.ts";
import { parseRoute } from "../../../actors/api-server/routes.ts";
import { resourceList, groupList, aggregatedDiscovery, wantsAggregated } from "../../../actors/api-server/discovery.ts";
import { openapiIndex, openapiDocument } from "../../../actors/api-server/openapi.ts";
import { toTable } from "../../../actors/api-server/tables.ts";

const crd = (established = true): CustomResourceDefinition => ({
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "widgets.example.com" },
  spec: {
    group: "example.com",
    scope: "Cluster",
    names: { plural: "widgets", singular: "widget", kind: "Widget", shortNames: ["wg"] },
    versions: [
      { name: "v1beta1", served: true, storage: false, schema: { openAPIV3Schema: { type: "object" } } },
      {
        name: "v1",
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [{ name: "Size", type: "integer", jsonPath: ".spec.size" }, { name: "Ready", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].status' }],
        schema: { openAPIV3Schema: { type: "object", properties: { spec: { type: "object", description: "The widget.", properties: { size: { type: "integer" } } } } } },
      },
    ],
  },
  status: established ? { conditions: [{ type: "Established", status: "True" }] } : {},
});

function catalogWith(c: CustomResourceDefinition): ResourceCatalog {
  const catalog = new ResourceCatalog();
  const rt = customTypeOf(c);
  catalog.setCustom(rt ? [rt] : []);
  return catalog;
}

describe("api-server custom types", () => {
  it("serves nothing for a CRD that is not Established", () => {
    const catalog = catalogWith(crd(false));
    expect(parseRoute("GET", "/apis/example.com/v1/widgets", new URLSearchParams(), catalog).type).to.equal("not-found");
  });

  it("routes every served version of an established CRD, at that version", () => {
    const catalog = catalogWith(crd());
    const r = parseRoute("GET", "/apis/example.com/v1beta1/widgets/w", new URLSearchParams(), catalog);
    expect(r).to.deep.include({ type: "resource", verb: "get", name: "w" });
    expect(r.type === "resource" && r.rt.version).to.equal("v1beta1");
    expect(parseRoute("PUT", "/apis/example.com/v1/widgets/w/status", new URLSearchParams(), catalog)).to.include({ type: "resource", subresource: "status" });
    expect(parseRoute("GET", "/apis/example.com/v2/widgets", new URLSearchParams(), catalog).type).to.equal("not-found");
  });

  it("discovers the kind in legacy and aggregated discovery, with the GA version preferred", () => {
    const catalog = catalogWith(crd());
    const g = groupList(catalog).groups.find((x) => x.name === "example.com")!;
    expect(g.preferredVersion.version).to.equal("v1");
    expect(g.versions.map((v) => v.version)).to.deep.equal(["v1", "v1beta1"]);
    const names = (resourceList("example.com", "v1", catalog).resources as { name: string }[]).map((r) => r.name);
    expect(names).to.deep.equal(["widgets", "widgets/status"]);
    const agg = aggregatedDiscovery(false, catalog).items.find((i) => i.metadata.name === "example.com")!;
    expect(agg.versions[0]!.resources[0]).to.deep.include({ resource: "widgets", scope: "Cluster", singularResource: "widget", shortNames: ["wg"] });
    expect(wantsAggregated("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")).to.equal(true);
    expect(wantsAggregated("application/json")).to.equal(false);
  });

  it("describes the kind in OpenAPI v3 from its schema, and changes the document's hash when the CRD changes", () => {
    const catalog = catalogWith(crd());
    const doc = openapiDocument("example.com", "v1", catalog) as { components: { schemas: Record<string, { properties: Record<string, { description?: string }>; "x-kubernetes-group-version-kind": unknown }> } };
    const schema = doc.components.schemas["com.example.v1.Widget"]!;
    expect(schema.properties.spec!.description).to.equal("The widget.");
    expect(schema["x-kubernetes-group-version-kind"]).to.deep.equal([{ group: "example.com", version: "v1", kind: "Widget" }]);
    const before = (openapiIndex(catalog) as { paths: Record<string, { serverRelativeURL: string }> }).paths["apis/example.com/v1"]!.serverRelativeURL;
    const changed = crd();
    changed.spec.versions[1]!.schema!.openAPIV3Schema = { type: "object", properties: { spec: { type: "object", description: "Changed." } } };
    catalog.setCustom([customTypeOf(changed)!]);
    const after = (openapiIndex(catalog) as { paths: Record<string, { serverRelativeURL: string }> }).paths["apis/example.com/v1"]!.serverRelativeURL;
    expect(after).to.not.equal(before);
  });

  it("prints the CRD's additionalPrinterColumns in Tables", () => {
    const rt = catalogWith(crd()).find("example.com", "v1", "widgets")!;
    const t = toTable(rt, [{ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" }, spec: { size: 3 }, status: { conditions: [{ type: "Ready", status: "True" }] } }], { now: new Date() });
    expect(t.columnDefinitions.map((c) => c.name)).to.deep.equal(["Name", "Size", "Ready"]);
    expect(t.rows[0]!.cells).to.deep.equal(["w", 3, "True"]);
  });
});
