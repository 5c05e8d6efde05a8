/** The `default/kubernetes` Service: its Endpoints are the live api-servers. */
import { expect } from "chai";
import type { Endpoints, Lease, Service } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import type { Host } from "../../runtime/host.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { apiServer } from "../../actors/api-server/index.ts";
import { liveSubsets } from "../../runtime/service-registration.ts";

describe("the kubernetes Service", function () {
  this.timeout(60_000);
  let c: TestCluster;
  let dir: string;
  let second: Host;
  const ips = async () =>
    (await c.store.get<Endpoints>("endpoints", "default", "kubernetes").catch(() => undefined))?.subsets?.flatMap((s) => (s.addresses ?? []).map((a) => `${a.ip}:${s.ports?.[0]?.port}`)).sort() ?? [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "flotilla-kubesvc-"));
    c = await startTestCluster({ actors: [{ def: apiServer, opts: { port: 0, dataDir: dir, advertiseAddress: "127.0.0.7" } }] });
  });
  after(async () => {
    await c?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("exists with port 443 → the api-server's port, and lists the api-server as its endpoint", async () => {
    const svc = await waitFor(() => c.store.get<Service>("services", "default", "kubernetes"), { what: "default/kubernetes" });
    expect(svc.spec.selector).to.equal(undefined);
    expect(svc.spec.ports?.[0]).to.include({ name: "https", port: 443 });
    const eps = await waitFor(async () => ((await ips()).length ? ips() : undefined), { what: "its endpoints" });
    expect(eps).to.have.length(1);
    expect(eps[0]).to.match(/^127\.0\.0\.7:\d+$/);
  });

  it("adds a second api-server and removes it again when it stops", async () => {
    second = await c.startActors([{ def: apiServer, opts: { port: 0, dataDir: dir, advertiseAddress: "127.0.0.8" } }]);
    await waitFor(async () => (await ips()).some((e) => e.startsWith("127.0.0.8:")), { what: "the second api-server in the endpoints" });
    await second.stop();
    await waitFor(async () => !(await ips()).some((e) => e.startsWith("127.0.0.8:")), { what: "the stopped api-server leaving the endpoints" });
    expect(await ips()).to.have.length(1);
  });

  it("drops an api-server whose Lease has expired (a killed server)", () => {
    const lease = (ip: string, renewMsAgo: number): Lease => ({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: ip, namespace: "kube-system", labels: { "apiserver.kubernetes.io/identity": "kube-apiserver" } },
      spec: { holderIdentity: `${ip}:6443`, leaseDurationSeconds: 15, renewTime: new Date(1_000_000 - renewMsAgo).toISOString() },
    });
    const subsets = liveSubsets([lease("10.0.0.1", 1000), lease("10.0.0.2", 20_000)], 1_000_000, "kube-apiserver", [{ name: "https", protocol: "TCP" }]);
    expect(subsets).to.deep.equal([{ addresses: [{ ip: "10.0.0.1" }], ports: [{ name: "https", port: 6443, protocol: "TCP" }] }]);
  });
});
