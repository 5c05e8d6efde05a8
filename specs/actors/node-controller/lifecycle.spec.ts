import { expect } from "chai";
import type { Node, Pod, Taint } from "../../../bus/resources.ts";
import { nodeHealth, decideNode, disruption, evictionRate, massDisconnect, TokenBucket, Disruption, REASON_UNKNOWN } from "../../../actors/node-controller/lifecycle.ts";
import { Health, TaintKey, desiredTaints, evictionAt, tolerates } from "../../../actors/node-controller/taints.ts";
import { ConnectionTable, parseAdvisory } from "../../../actors/node-controller/connections.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const opts = { gracePeriodMs: 10_000, disconnectGraceMs: 2_000 };
const iso = (t: number) => new Date(t).toISOString();

function node(over: Partial<Node["spec"]> = {}, ready: "True" | "False" | "Unknown" | undefined = "True", reason?: string): Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: "n1", creationTimestamp: iso(T0 - 60_000), resourceVersion: "5" },
    spec: { ...over },
    status: ready ? { conditions: [{ type: "Ready", status: ready, reason }] } : {},
  };
}
function pod(tolerations: Pod["spec"]["tolerations"] = []): Pod {
  return { apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "default" }, spec: { containers: [{ name: "c" }], nodeName: "n1", tolerations } };
}
const obs = (o: Partial<Parameters<typeof nodeHealth>[0]> = {}) => ({ node: node(), watchingSince: T0 - 60_000, ignoreConnections: false, ...o });

describe("node controller lifecycle", () => {
  describe("nodeHealth", () => {
    it("keeps a node Ready while its lease was renewed within the grace period", () => {
      const h = nodeHealth(obs({ leaseObservedAt: T0 }), T0 + 9_999, opts);
      expect(h.health).to.equal(Health.Ready);
      expect(h.recheckAt).to.equal(T0 + 10_000);
    });
    it("turns a node Unknown once its lease goes unrenewed for the grace period", () => {
      expect(nodeHealth(obs({ leaseObservedAt: T0 }), T0 + 10_000, opts).health).to.equal(Health.Unknown);
    });
    it("gives a node whose Lease is longer than the grace period its Lease's duration", () => {
      // A kubelet with a 40 s Lease renews about every 10 s: a 10 s grace would call it Unknown between renewals.
      const long = obs({ leaseObservedAt: T0, leaseDurationMs: 40_000 });
      expect(nodeHealth(long, T0 + 12_000, opts)).to.deep.equal({ health: Health.Ready, recheckAt: T0 + 40_000 });
      expect(nodeHealth(long, T0 + 40_000, opts).health).to.equal(Health.Unknown);
      expect(nodeHealth(obs({ leaseObservedAt: T0, leaseDurationMs: 5_000 }), T0 + 9_999, opts).health, "a shorter Lease keeps the grace period").to.equal(Health.Ready);
    });
    it("turns a node Unknown when its connection dropped and stayed away for the disconnect grace", () => {
      const o = obs({ leaseObservedAt: T0, disconnectedAt: T0 + 1_000 });
      expect(nodeHealth(o, T0 + 2_999, opts)).to.deep.equal({ health: Health.Ready, recheckAt: T0 + 3_000 });
      expect(nodeHealth(o, T0 + 3_000, opts).health).to.equal(Health.Unknown);
    });
    it("ignores a dropped connection when the lease was renewed after it", () => {
      const o = obs({ leaseObservedAt: T0 + 2_000, disconnectedAt: T0 + 1_000 });
      expect(nodeHealth(o, T0 + 5_000, opts).health).to.equal(Health.Ready);
    });
    it("ignores dropped connections during a mass disconnect and waits for the lease", () => {
      const o = obs({ leaseObservedAt: T0, disconnectedAt: T0, ignoreConnections: true });
      expect(nodeHealth(o, T0 + 9_000, opts).health).to.equal(Health.Ready);
      expect(nodeHealth(o, T0 + 10_000, opts).health).to.equal(Health.Unknown);
    });
    it("reports a node that never heartbeated as New, then Unknown after the grace", () => {
      const o = obs({ node: node({}, undefined), watchingSince: T0 });
      o.node.metadata.creationTimestamp = iso(T0);
      expect(nodeHealth(o, T0 + 1_000, opts).health).to.equal(Health.New);
      expect(nodeHealth(o, T0 + 10_000, opts).health).to.equal(Health.Unknown);
    });
    it("gives every node a full grace when the controller starts watching", () => {
      const o = obs({ watchingSince: T0 });
      expect(nodeHealth(o, T0 + 9_000, opts).health).to.equal(Health.New);
    });
    it("keeps a node it marked Unknown Unknown until a renewal is seen after that, whatever the grace", () => {
      const n = node({}, "Unknown", REASON_UNKNOWN);
      n.status!.conditions![0]!.lastTransitionTime = iso(T0);
      expect(nodeHealth(obs({ node: n, leaseObservedAt: T0 + 1_000 }), T0 + 2_000, opts).health).to.equal(Health.Unknown);
      expect(nodeHealth(obs({ node: n, leaseObservedAt: T0 + 1_000, leaseRenewedAt: T0 + 1_000 }), T0 + 2_000, opts).health).to.equal(Health.Ready);
    });
    it("reports NotReady when the kubelet says Ready=False with a fresh lease", () => {
      expect(nodeHealth(obs({ node: node({}, "False"), leaseObservedAt: T0 }), T0 + 1, opts).health).to.equal(Health.NotReady);
    });
  });

  describe("decideNode", () => {
    it("sets Ready Unknown, taints unreachable NoSchedule+NoExecute and marks pods not ready", () => {
      const cmds = decideNode(node(), Health.Unknown, iso(T0));
      const status = cmds.find((c) => c.type === "node.status");
      expect(status && status.type === "node.status" && status.conditions[0]).to.include({ status: "Unknown", reason: REASON_UNKNOWN, message: "Kubelet stopped posting node status." });
      const taints = cmds.find((c) => c.type === "node.taint");
      expect(taints && taints.type === "node.taint" && taints.taints.map((t) => `${t.key}:${t.effect}`)).to.deep.equal([
        `${TaintKey.unreachable}:NoSchedule`,
        `${TaintKey.unreachable}:NoExecute`,
      ]);
      expect(cmds.map((c) => c.type)).to.include.members(["event.record", "pods.mark-not-ready"]);
    });
    it("writes nothing for a healthy node without taints", () => {
      expect(decideNode(node(), Health.Ready, iso(T0))).to.deep.equal([]);
    });
    it("removes its taints and restores Ready when a node comes back", () => {
      const taints: Taint[] = [
        { key: TaintKey.unreachable, effect: "NoExecute", timeAdded: iso(T0) },
        { key: "dedicated", value: "db", effect: "NoSchedule" },
      ];
      const cmds = decideNode(node({ taints }, "Unknown", REASON_UNKNOWN), Health.Ready, iso(T0 + 5_000));
      const t = cmds.find((c) => c.type === "node.taint");
      expect(t && t.type === "node.taint" && t.taints).to.deep.equal([{ key: "dedicated", value: "db", effect: "NoSchedule" }]);
      const s = cmds.find((c) => c.type === "node.status");
      expect(s && s.type === "node.status" && s.conditions[0]!.status).to.equal("True");
    });
    it("gives a new node the not-ready NoSchedule taint only", () => {
      const t = desiredTaints([], Health.New, iso(T0));
      expect(t).to.deep.equal([{ key: TaintKey.notReady, effect: "NoSchedule", timeAdded: iso(T0) }]);
    });
    it("keeps the timeAdded of a taint that stays", () => {
      const cur: Taint[] = [{ key: TaintKey.unreachable, effect: "NoExecute", timeAdded: iso(T0) }];
      const t = desiredTaints(cur, Health.Unknown, iso(T0 + 9_000));
      expect(t.find((x) => x.effect === "NoExecute")!.timeAdded).to.equal(iso(T0));
    });
  });

  describe("evictionAt", () => {
    const unreachable: Taint[] = [{ key: TaintKey.unreachable, effect: "NoExecute", timeAdded: iso(T0) }];
    it("evicts a pod without a matching toleration at once", () => {
      expect(evictionAt(pod(), unreachable, T0 + 5)).to.equal(T0 + 5);
    });
    it("evicts after the toleration's tolerationSeconds counted from timeAdded", () => {
      const p = pod([{ key: TaintKey.unreachable, operator: "Exists", effect: "NoExecute", tolerationSeconds: 2 }]);
      expect(evictionAt(p, unreachable, T0 + 5)).to.equal(T0 + 2_000);
    });
    it("never evicts a pod that tolerates the taint forever", () => {
      expect(evictionAt(pod([{ operator: "Exists" }]), unreachable, T0)).to.equal(null);
    });
    it("ignores NoSchedule taints", () => {
      expect(evictionAt(pod(), [{ key: TaintKey.unreachable, effect: "NoSchedule" }], T0)).to.equal(null);
    });
    it("matches tolerations like Kubernetes (Equal needs the value, effect must agree)", () => {
      const taint: Taint = { key: "k", value: "v", effect: "NoExecute" };
      expect(tolerates({ key: "k", operator: "Equal", value: "v" }, taint)).to.equal(true);
      expect(tolerates({ key: "k", operator: "Equal", value: "w" }, taint)).to.equal(false);
      expect(tolerates({ key: "k", operator: "Exists", effect: "NoSchedule" }, taint)).to.equal(false);
    });
  });

  describe("guards", () => {
    it("pauses evictions when every node is unhealthy and slows them when most are", () => {
      expect(disruption([Health.Unknown, Health.Unknown, Health.Unknown], 0.55)).to.equal(Disruption.Full);
      expect(disruption([Health.Unknown, Health.Unknown, Health.Ready], 0.55)).to.equal(Disruption.Partial);
      expect(disruption([Health.Unknown, Health.Ready, Health.Ready], 0.55)).to.equal(Disruption.Normal);
      expect(evictionRate(Disruption.Full, 10)).to.equal(0);
      expect(evictionRate(Disruption.Partial, 10)).to.equal(1);
    });
    it("sees a mass disconnect when most nodes drop together, not when one does", () => {
      expect(massDisconnect([T0, T0 + 10, T0 + 20], 3, T0 + 100, 10_000, 0.55)).to.equal(true);
      expect(massDisconnect([T0], 3, T0 + 100, 10_000, 0.55)).to.equal(false);
      expect(massDisconnect([T0, T0 + 10], 10, T0 + 100, 10_000, 0.55)).to.equal(false);
    });
    it("rate-limits evictions with a token bucket", () => {
      const b = new TokenBucket(2, 2, T0);
      expect([b.take(T0), b.take(T0), b.take(T0)]).to.deep.equal([true, true, false]);
      expect(b.waitMs(T0)).to.equal(500);
      expect(b.take(T0 + 500)).to.equal(true);
      b.setRate(0, T0 + 10_000);
      expect(b.take(T0 + 10_000)).to.equal(false);
    });
  });

  describe("connection advisories", () => {
    const adv = (type: string, name: string, id: number) => ({ type: `io.nats.server.advisory.v1.${type}`, server: { id: "S1" }, client: { id, name }, reason: "Client Closed" });
    it("maps a kubelet's disconnect advisory to its node", () => {
      expect(parseAdvisory(adv("client_disconnect", "kubelet/n1", 7))).to.deep.equal({ kind: "disconnect", node: "n1", conn: "S1/7", reason: "Client Closed" });
    });
    it("ignores connections of other actors", () => {
      expect(parseAdvisory(adv("client_disconnect", "scheduler/abc", 7))).to.equal(undefined);
      expect(parseAdvisory("garbage")).to.equal(undefined);
    });
    it("marks a node disconnected only when its last connection drops, until it reconnects", () => {
      const t = new ConnectionTable();
      t.apply(parseAdvisory(adv("client_connect", "kubelet/n1", 1))!, T0);
      t.apply(parseAdvisory(adv("client_connect", "kubelet/n1", 2))!, T0);
      t.apply(parseAdvisory(adv("client_disconnect", "kubelet/n1", 1))!, T0 + 1);
      expect(t.disconnectedAt("n1")).to.equal(undefined);
      t.apply(parseAdvisory(adv("client_disconnect", "kubelet/n1", 2))!, T0 + 2);
      expect(t.disconnectedAt("n1")).to.equal(T0 + 2);
      t.apply(parseAdvisory(adv("client_connect", "kubelet/n1", 3))!, T0 + 3);
      expect(t.disconnectedAt("n1")).to.equal(undefined);
    });
  });
});
