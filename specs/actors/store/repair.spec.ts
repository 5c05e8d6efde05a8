/** planRepair: the allocation repair decided from a list of Services and allocation keys. */
import { expect } from "chai";
import type { Service, ServiceSpec } from "../../../bus/resources.ts";
import type { AllocationEntry, RepairMemory } from "../../../actors/store/repair.ts";
import { planRepair, emptyMemory } from "../../../actors/store/repair.ts";
import { ipKey, nodePortKey, bridgePortKey } from "../../../actors/store/allocation.ts";
import { BRIDGE_PORTS_ANNOTATION } from "../../../bus/service-links.ts";

const CIDR = "127.96.0.0/16";
const svc = (name: string, created: string, spec: ServiceSpec, bridge?: Record<string, number>): Service => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: "default", uid: `uid-${name}`, creationTimestamp: created, ...(bridge ? { annotations: { [BRIDGE_PORTS_ANNOTATION]: JSON.stringify(bridge) } } : {}) },
  spec,
});
const entry = (key: string, revision = 1): AllocationEntry => ({ key, revision, owner: { owner: "default/x" } });
const plan = (services: Service[], allocations: AllocationEntry[], memory: RepairMemory = emptyMemory(), now = 1000, grace = 0) =>
  planRepair({ services, allocations, cidr: CIDR }, memory, now, grace);

describe("store planRepair", () => {
  it("does nothing when the table matches the Services", () => {
    const a = svc("a", "2026-01-01T00:00:00Z", { type: "NodePort", clusterIP: "127.96.0.5", ports: [{ port: 80, nodePort: 30001 }] }, { "80/TCP": 20001 });
    const { commands } = plan([a], [entry(ipKey("127.96.0.5")), entry(nodePortKey(30001)), entry(bridgePortKey(20001))]);
    expect(commands).to.deep.equal([]);
  });

  it("reports a shared ClusterIP and NodePort on every holder but the oldest", () => {
    const old = svc("old", "2026-01-01T00:00:00Z", { type: "NodePort", clusterIP: "127.96.0.5", ports: [{ port: 80, nodePort: 30001 }] });
    const mid = svc("mid", "2026-01-02T00:00:00Z", { type: "NodePort", clusterIP: "127.96.0.5", ports: [{ port: 80, nodePort: 30001 }] });
    const { commands } = plan([mid, old], [entry(ipKey("127.96.0.5")), entry(nodePortKey(30001))]);
    expect(commands.map((c) => (c.type === "event" ? [c.event.reason, c.event.service.metadata.name, c.event.message] : c.type))).to.deep.equal([
      ["ClusterIPAlreadyAllocated", "mid", "Cluster IP [IPv4]: 127.96.0.5 was assigned to multiple services; please recreate service"],
      ["PortAlreadyAllocated", "mid", "Port 30001 was assigned to multiple services; please recreate service"],
    ]);
  });

  it("says a problem once for as long as it lasts, and again after it came back", () => {
    const a = svc("a", "2026-01-01T00:00:00Z", { type: "ClusterIP", clusterIP: "127.96.0.5", ports: [{ port: 80 }] });
    const b = svc("b", "2026-01-02T00:00:00Z", { type: "ClusterIP", clusterIP: "127.96.0.5", ports: [{ port: 80 }] });
    const first = plan([a, b], [entry(ipKey("127.96.0.5"))]);
    expect(first.commands).to.have.length(1);
    const second = plan([a, b], [entry(ipKey("127.96.0.5"))], first.memory);
    expect(second.commands).to.deep.equal([]);
    const gone = plan([a], [entry(ipKey("127.96.0.5"))], second.memory);
    expect(plan([a, b], [entry(ipKey("127.96.0.5"))], gone.memory).commands).to.have.length(1);
  });

  it("claims an address a Service holds without its key, with a NotAllocated event for the claim to send", () => {
    const a = svc("a", "2026-01-01T00:00:00Z", { type: "NodePort", clusterIP: "127.96.0.5", ports: [{ port: 80, nodePort: 30001 }] });
    const { commands } = plan([a], [entry(ipKey("127.96.0.5"))]);
    expect(commands).to.have.length(1);
    const c = commands[0]!;
    expect(c.type).to.equal("claim");
    if (c.type === "claim") {
      expect(c.key).to.equal(nodePortKey(30001));
      expect(c.event).to.include({ reason: "PortNotAllocated", message: "Port 30001 is not allocated; repairing" });
    }
  });

  it("reports ClusterIPs and NodePorts outside the configured ranges without claiming them", () => {
    const a = svc("a", "2026-01-01T00:00:00Z", { type: "NodePort", clusterIP: "10.0.0.1", ports: [{ port: 80, nodePort: 40000 }] });
    const { commands } = plan([a], []);
    expect(commands.map((c) => (c.type === "event" ? c.event.reason : c.type))).to.deep.equal(["PortOutOfRange", "ClusterIPOutOfRange"]);
  });

  it("frees a leaked key only once it has stayed leaked, unchanged, for the grace period", () => {
    const leak = entry(nodePortKey(30002), 7);
    const t0 = plan([], [leak], emptyMemory(), 1000, 500);
    expect(t0.commands).to.deep.equal([]);
    const early = plan([], [leak], t0.memory, 1400, 500);
    expect(early.commands).to.deep.equal([]);
    // Claimed again meanwhile (a new revision): the clock starts over.
    const reclaimed = plan([], [{ ...leak, revision: 9 }], early.memory, 1600, 500);
    expect(reclaimed.commands).to.deep.equal([]);
    const late = plan([], [{ ...leak, revision: 9 }], reclaimed.memory, 2100, 500);
    expect(late.commands).to.deep.equal([{ type: "free", key: nodePortKey(30002), revision: 9 }]);
  });

  it("treats as held only what the stored Service's type uses: no ClusterIP for ExternalName, no NodePorts for ClusterIP", () => {
    const ext = svc("ext", "2026-01-01T00:00:00Z", { type: "ExternalName", externalName: "example.com", clusterIP: "127.96.0.9" });
    const cip = svc("cip", "2026-01-01T00:00:00Z", { type: "ClusterIP", clusterIP: "127.96.0.8", ports: [{ port: 80, nodePort: 30005 }] });
    const { commands } = plan([ext, cip], [entry(ipKey("127.96.0.9")), entry(ipKey("127.96.0.8")), entry(nodePortKey(30005))]);
    expect(commands.map((c) => (c.type === "free" ? c.key : c.type)).sort()).to.deep.equal([ipKey("127.96.0.9"), nodePortKey(30005)].sort());
  });
});
