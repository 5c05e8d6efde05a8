/**
 * The worked example of docs/architecture.md ("How to write a controller"): the root CA publisher.
 * Unit specs call `reconcile` and compare commands; the integration part runs it on a real store.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import type { ConfigMap, Namespace } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { ROOT_CA_CONFIGMAP, reconcile } from "../../actors/root-ca-publisher/namespace.ts";
import { rootCaPublisher } from "../../actors/root-ca-publisher/index.ts";

const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const ns = (name: string, deleting = false): Namespace => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, ...(deleting ? { deletionTimestamp: "2026-03-01T12:00:00Z" } : {}) },
});
const cm = (namespace: string, ca: string): ConfigMap => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: ROOT_CA_CONFIGMAP, namespace }, data: { "ca.crt": ca } });

describe("example controller: root CA publisher", () => {
  describe("reconcile", () => {
    it("creates the ConfigMap in a namespace that has none", () => {
      const d = reconcile("team-a", { namespace: ns("team-a"), caCert: CA });
      expect(d.commands).to.deep.equal([{ type: "configmap.create", configMap: cm("team-a", CA) }]);
    });
    it("rewrites a ConfigMap whose certificate differs, and leaves a current one alone", () => {
      const stale = cm("team-a", "old");
      expect(reconcile("team-a", { namespace: ns("team-a"), configMap: stale, caCert: CA }).commands).to.deep.equal([
        { type: "configmap.update", configMap: cm("team-a", CA) },
      ]);
      expect(stale.data!["ca.crt"], "the cached object is not mutated").to.equal("old");
      expect(reconcile("team-a", { namespace: ns("team-a"), configMap: cm("team-a", CA), caCert: CA }).commands).to.deep.equal([]);
    });
    it("ignores a namespace that is gone or being deleted", () => {
      expect(reconcile("gone", { caCert: CA }).commands).to.deep.equal([]);
      expect(reconcile("closing", { namespace: ns("closing", true), caCert: CA }).commands).to.deep.equal([]);
    });
  });

  it("is the code docs/architecture.md shows", () => {
    const doc = readFileSync(new URL("../../docs/architecture.md", import.meta.url), "utf8");
    for (const file of ["namespace.ts", "index.ts"]) {
      const code = readFileSync(new URL(`../../actors/root-ca-publisher/${file}`, import.meta.url), "utf8").trimEnd();
      expect(doc.includes("```ts\n" + code + "\n```"), `docs/architecture.md shows root-ca-publisher/${file} as it is`).to.equal(true);
    }
  });

  describe("on a real store", function () {
    this.timeout(30_000);
    let c: TestCluster;
    before(async () => {
      c = await startTestCluster({ actors: [{ def: rootCaPublisher, opts: { caCert: CA } }] });
    });
    after(async () => c?.stop());
    const published = async (namespace: string) =>
      (await c.store.get<ConfigMap>("configmaps", namespace, ROOT_CA_CONFIGMAP).catch(() => undefined))?.data?.["ca.crt"] === CA;

    it("publishes the CA in a namespace created after it started", async () => {
      await c.store.create("namespaces", undefined, ns("team-b"));
      await waitFor(() => published("team-b"), { what: "kube-root-ca.crt in team-b" });
    });

    it("puts back a ConfigMap someone edited or deleted", async () => {
      const cur = await c.store.get<ConfigMap>("configmaps", "team-b", ROOT_CA_CONFIGMAP);
      await c.store.update("configmaps", { ...cur, data: { "ca.crt": "tampered" } });
      await waitFor(() => published("team-b"), { what: "the CA restored" });
      await c.store.delete("configmaps", "team-b", ROOT_CA_CONFIGMAP);
      await waitFor(() => published("team-b"), { what: "the ConfigMap recreated" });
    });
  });
});
