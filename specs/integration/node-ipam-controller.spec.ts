/** The node IPAM controller against a real store: every Node gets its own pod CIDR. */
import { expect } from "chai";
import type { Node } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { nodeIpamController } from "../../actors/node-ipam-controller/index.ts";

const node = (name: string): Node => ({ apiVersion: "v1", kind: "Node", metadata: { name }, spec: {} }) as Node;

describe("node ipam controller (integration)", function () {
  this.timeout(60_000);
  let c: TestCluster;
  before(async () => {
    c = await startTestCluster({ actors: [{ def: nodeIpamController }] });
  });
  after(async () => c?.stop());

  const cidrOf = async (n: string) => (await c.store.get<Node>("nodes", undefined, n)).spec?.podCIDR;

  it("gives nodes that join at once distinct /24s of 10.244.0.0/16, and a departed node's block to the next", async () => {
    await Promise.all(["a", "b", "c", "d"].map((n) => c.store.create("nodes", undefined, node(n))));
    const cidrs = await waitFor(async () => {
      const all = await Promise.all(["a", "b", "c", "d"].map(cidrOf));
      return all.every(Boolean) ? all : undefined;
    }, { what: "a pod CIDR on every node" });
    expect(new Set(cidrs).size).to.equal(4);
    for (const x of cidrs) expect(x).to.match(/^10\.244\.\d+\.0\/24$/);
    const gone = cidrs[1]!;
    await c.store.delete("nodes", undefined, "b");
    await c.store.create("nodes", undefined, node("e"));
    expect(await waitFor(() => cidrOf("e"), { what: "e's pod CIDR" })).to.equal(gone);
    expect((await c.store.get<Node>("nodes", undefined, "e")).spec?.podCIDRs).to.deep.equal([gone]);
  });
});
