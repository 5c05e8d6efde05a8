import { expect } from "chai";
import { Snapshot } from "../../../actors/scheduler/snapshot.ts";
import { podInfo } from "../../../actors/scheduler/pod-info.ts";
import { node, pod } from "./harness.ts";

describe("scheduler › snapshot", () => {
  it("accounts a bound pod once however often the watch repeats it", () => {
    const s = new Snapshot();
    s.upsertNode(node("a").build());
    const p = pod("p").cpu("1").hostPort(80).on("a").build();
    s.upsertPod(podInfo(p));
    s.upsertPod(podInfo(p));
    expect(s.node("a")!.requested.cpu).to.equal(1000);
    expect(s.node("a")!.pods.size).to.equal(1);
    expect([...s.node("a")!.usedPorts.keys()]).to.deep.equal(["TCP/80"]);
    s.removePod("default/p");
    expect(s.node("a")!.requested.cpu).to.equal(0);
    expect(s.node("a")!.usedPorts.size).to.equal(0);
  });

  it("turns an assumed pod into a bound one when the watch shows it bound", () => {
    const s = new Snapshot();
    s.upsertNode(node("a").build());
    const p = pod("p").cpu("1");
    s.assume(podInfo(p.build()), "a");
    s.upsertPod(podInfo(p.build())); // an unrelated update before the bind lands keeps the assumption
    expect(s.node("a")!.requested.cpu).to.equal(1000);
    s.upsertPod(podInfo(p.on("a").build()));
    s.forget("default/p"); // a late failure report must not undo a confirmed bind
    expect(s.node("a")!.requested.cpu).to.equal(1000);
  });

  it("accounts pods that arrive before their node", () => {
    const s = new Snapshot();
    s.upsertPod(podInfo(pod("p").cpu("1").on("late").build()));
    s.upsertNode(node("late").build());
    expect(s.node("late")!.requested.cpu).to.equal(1000);
  });

  it("finds placed pods by label and counts topology domains", () => {
    const s = new Snapshot();
    s.upsertNode(node("a").zone("z1").build());
    s.upsertNode(node("b").zone("z1").build());
    s.upsertPod(podInfo(pod("w").label("app", "web").on("a").build()));
    s.upsertPod(podInfo(pod("d").label("app", "db").on("b").build()));
    const web = [...s.matchingPods(new Set(["default"]), [{ key: "app", op: "=", value: "web" }])].map((p) => p.info.name);
    expect(web).to.deep.equal(["w"]);
    expect(s.domains("topology.kubernetes.io/zone").get("z1")).to.equal(2);
    s.removeNode("a");
    expect(s.domains("topology.kubernetes.io/zone").get("z1")).to.equal(1);
    expect(s.nodeList.map((n) => n.name)).to.deep.equal(["b"]);
  });
});
