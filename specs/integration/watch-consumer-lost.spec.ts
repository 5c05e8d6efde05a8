/**
 * A watch whose JetStream consumer disappears (its server died, or the server dropped it after the
 * client was away past the inactivity threshold) must notice and resume, not go silent: every
 * informer, the api-server's watch cache and so every controller rely on it.
 */
import { expect } from "chai";
import type { ConfigMap } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import { jetstreamManager } from "@nats-io/jetstream";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { quietLog } from "../harness/quiet-log.ts";
import { Informer } from "../../runtime/informer.ts";
import { subjects } from "../../bus/subjects.ts";

describe("a watch whose consumer is gone", function () {
  this.timeout(60_000);
  let c: TestCluster;
  before(async () => {
    c = await startTestCluster();
  });
  after(async () => {
    await c?.stop();
  });

  it("resumes from its last revision and sees the changes made after it", async () => {
    const inf = new Informer<ConfigMap>(c.nc, c.cluster, { resource: "configmaps", namespace: "default", log: quietLog });
    await inf.start();
    try {
      const cm = (name: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name } }) as ConfigMap;
      await c.store.create("configmaps", "default", cm("before"));
      await waitFor(() => inf.get("default", "before"), { what: "the first object" });
      // Every consumer of the bucket's stream goes, as when the server that held them dies.
      const jsm = await jetstreamManager(c.nc);
      const stream = subjects(c.cluster).kvStream(subjects(c.cluster).bucket());
      let deleted = 0;
      for await (const ci of jsm.consumers.list(stream)) if (await jsm.consumers.delete(stream, ci.name).catch(() => false)) deleted++;
      expect(deleted, "consumers deleted").to.be.greaterThan(0);
      await c.store.create("configmaps", "default", cm("after"));
      await waitFor(() => inf.get("default", "after"), { what: "the object created after the consumer went", timeoutMs: 30_000 });
      expect(inf.list().map((o) => o.metadata.name).sort()).to.include.members(["after", "before"]);
    } finally {
      inf.stop();
    }
  });
});
