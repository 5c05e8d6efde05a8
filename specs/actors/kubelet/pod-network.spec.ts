/**
 * Pod networking across three test hosts (network namespaces on a LAN bridge this spec creates):
 * pods get addresses from their node's podCIDR and reach pods on other hosts directly (host-gw).
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { PodNetwork, podNetnsName } from "../../../actors/kubelet/pod-network.ts";
import { NetnsLab, canUseNetns } from "../../harness/netns.ts";
import { waitFor } from "../../harness/cluster.ts";

describe("pod network (network namespaces)", function () {
  this.timeout(60_000);
  let lab: NetnsLab;
  let dir: string;
  const nets: PodNetwork[] = [];
  const hosts = [
    { name: "a", address: "10.199.0.1", podCIDR: "10.244.1.0/24" },
    { name: "b", address: "10.199.0.2", podCIDR: "10.244.2.0/24" },
    { name: "c", address: "10.199.0.3", podCIDR: "10.244.3.0/24" },
  ];
  const run = Math.random().toString(36).slice(2, 8);
  const uids = ["a", "b", "c"].map((h) => `${run}-pod-${h}`);

  before(function () {
    if (!canUseNetns()) {
      if (process.env.CI === "true") throw new Error("network namespaces are required under CI=true (run as root)");
      this.skip();
    }
    lab = new NetnsLab();
    dir = mkdtempSync(join(tmpdir(), "flotilla-podnet-"));
    const lan = lab.lan("lan");
    for (const h of hosts) {
      const ns = lab.lanHost(lan, h.name, `${h.address}/24`);
      nets.push(new PodNetwork({ podCIDR: h.podCIDR, stateDir: join(dir, h.name), nodeNetns: ns, bridge: "flt0" }));
    }
  });
  after(async () => {
    for (const [i, n] of nets.entries()) {
      await n.teardown(uids[i]!).catch(() => undefined);
      await n.cleanupNode().catch(() => undefined);
    }
    lab?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("gives each pod an address from its node's podCIDR, idempotently", async () => {
    for (const n of nets) await n.ensureNode();
    const a = await nets[0]!.setup(uids[0]!);
    expect(a.ip).to.equal("10.244.1.2");
    expect(await nets[0]!.setup(uids[0]!)).to.deep.equal(a);
    expect((await nets[1]!.setup(uids[1]!)).ip).to.equal("10.244.2.2");
    expect((await nets[2]!.setup(uids[2]!)).ip).to.equal("10.244.3.2");
    const lo = execFileSync("ip", ["netns", "exec", podNetnsName(uids[0]!), "ip", "-4", "addr", "show", "lo"], { encoding: "utf8" });
    expect(lo).to.include("127.0.0.1");
  });

  it("routes pod to pod across hosts with no proxy in the path, and forgets a node that leaves", async () => {
    const peers = hosts.map((h) => ({ podCIDR: h.podCIDR, address: h.address }));
    for (const n of nets) await n.syncRoutes(peers);
    lab.spawn(podNetnsName(uids[1]!), ["busybox", "httpd", "-f", "-p", "8080", "-h", "/etc"]);
    lab.spawn(podNetnsName(uids[2]!), ["busybox", "httpd", "-f", "-p", "8080", "-h", "/etc"]);
    const from = podNetnsName(uids[0]!);
    await waitFor(() => lab.get(from, "http://10.244.2.2:8080/hostname") !== undefined, { timeoutMs: 15_000, what: "a pod on host b from host a" });
    await waitFor(() => lab.get(from, "http://10.244.3.2:8080/hostname") !== undefined, { timeoutMs: 15_000, what: "a pod on host c from host a" });
    // The request arrives from the client pod's own address (no NAT between pods).
    const routes = execFileSync("ip", ["-n", `${lab.prefix}-a`, "route", "show", "proto", "202"], { encoding: "utf8" });
    expect(routes).to.include("10.244.2.0/24 via 10.199.0.2").and.include("10.244.3.0/24 via 10.199.0.3");
    await nets[0]!.syncRoutes(peers.filter((p) => p.address !== "10.199.0.3"));
    const after = execFileSync("ip", ["-n", `${lab.prefix}-a`, "route", "show", "proto", "202"], { encoding: "utf8" });
    expect(after).to.not.include("10.244.3.0/24");
  });

  it("frees the address and the namespace on teardown", async () => {
    await nets[0]!.teardown(uids[0]!);
    expect(nets[0]!.allocated().size).to.equal(0);
    expect(execFileSync("ip", ["netns", "list"], { encoding: "utf8" })).to.not.include(podNetnsName(uids[0]!));
  });
});
