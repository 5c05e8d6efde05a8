import { expect } from "chai";
import type { Lease, ConfigMap } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import type { Fence } from "../../bus/fence.ts";
import { startTestCluster } from "../harness/cluster.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { LEADER_NAMESPACE } from "../../bus/fence.ts";

describe("store: writes fenced by a leader's lease term (integration)", () => {
  let c: TestCluster;
  let lease: Lease;
  before(async () => {
    c = await startTestCluster();
    lease = await c.store.create<Lease>("leases", LEADER_NAMESPACE, {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "fence-ctl", namespace: LEADER_NAMESPACE },
      spec: { holderIdentity: "ctl-a", leaseDurationSeconds: 2, leaseTransitions: 3 },
    } as Lease);
  });
  after(async () => c?.stop());

  const write = (name: string, fence: Fence) =>
    c.store.send<ConfigMap>({ type: "create", resource: "configmaps", namespace: "default", object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name } }, fence });
  const refusal = async (p: Promise<unknown>) => {
    const e = await p.then(() => undefined, (x: unknown) => x);
    expect(e, "the write was refused").to.be.instanceOf(FlotillaError);
    return e as FlotillaError;
  };
  const exists = (name: string) => c.store.get("configmaps", "default", name).then(() => true, () => false);

  it("carries out a write fenced with the current holder and term", async () => {
    await write("fenced-ok", { lease: "fence-ctl", holder: "ctl-a", term: 3 });
    expect(await exists("fenced-ok")).to.equal(true);
  });

  it("refuses, and does not carry out, a write from an earlier term, another holder or a lease that does not exist", async () => {
    for (const [name, fence] of [
      ["old-term", { lease: "fence-ctl", holder: "ctl-a", term: 2 }],
      ["not-holder", { lease: "fence-ctl", holder: "ctl-b", term: 3 }],
      ["no-lease", { lease: "no-such-lease", holder: "ctl-a", term: 0 }],
    ] as const) {
      const e = await refusal(write(name, fence));
      expect(e.code, name).to.equal(ErrorCode.Conflict);
      expect(e.message).to.match(/^refused: /);
      expect(await exists(name), name).to.equal(false);
    }
  });

  it("refuses the old holder's writes once another replica took the lease, and once it was released", async () => {
    lease = await c.store.update<Lease>("leases", { ...lease, spec: { ...lease.spec, holderIdentity: "ctl-b", leaseTransitions: 4 } });
    const e = await refusal(write("after-takeover", { lease: "fence-ctl", holder: "ctl-a", term: 3 }));
    expect(e.message).to.equal("refused: ctl-a wrote as leader in term 3 of lease kube-system/fence-ctl, which is now held by ctl-b (term 4)");
    await write("new-holder", { lease: "fence-ctl", holder: "ctl-b", term: 4 });
    lease = await c.store.update<Lease>("leases", { ...lease, spec: { ...lease.spec, holderIdentity: "" } });
    await refusal(write("after-release", { lease: "fence-ctl", holder: "ctl-b", term: 4 }));
    expect([await exists("after-takeover"), await exists("new-holder"), await exists("after-release")]).to.deep.equal([false, true, false]);
  });

  it("answers Invalid to a malformed fence", async () => {
    const e = await refusal(write("bad-fence", { lease: "fence-ctl", holder: "", term: -1 }));
    expect(e.code).to.equal(ErrorCode.Invalid);
    expect(e.message).to.match(/fence\.holder/);
  });
});
