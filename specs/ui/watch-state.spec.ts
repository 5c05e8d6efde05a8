import type { KubeObject } from "../../bus/resources.ts";
import { expect } from "chai";
import { applyEvent, fromList, reconnectDelayMs, watchUrl } from "../../ui/src/lib/watch-state.ts";
import { LineSplitter } from "../../ui/src/lib/ndjson.ts";

const pod = (name: string, rv: string, ns = "default"): KubeObject => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: ns, resourceVersion: rv } });

describe("dashboard watch state", () => {
  const listed = fromList({ items: [pod("a", "3"), pod("b", "4")], metadata: { resourceVersion: "5" } });

  it("keys listed objects by namespace and name and resumes from the list's resourceVersion", () => {
    expect([...listed.items.keys()]).to.deep.equal(["default/a", "default/b"]);
    expect(listed.resourceVersion).to.equal("5");
  });

  it("adds, replaces and removes objects and advances the resourceVersion", () => {
    let s = listed;
    for (const ev of [
      { type: "ADDED", object: pod("c", "6") },
      { type: "MODIFIED", object: pod("a", "7") },
      { type: "DELETED", object: pod("b", "8") },
    ] as const) {
      const step = applyEvent(s, ev);
      if (step.type !== "state") throw new Error(step.type);
      s = step.state;
    }
    expect([...s.items.keys()].sort()).to.deep.equal(["default/a", "default/c"]);
    expect(s.items.get("default/a")!.metadata.resourceVersion).to.equal("7");
    expect(s.resourceVersion).to.equal("8");
    expect(listed.items.size).to.equal(2);
  });

  it("moves the resourceVersion on a bookmark without changing the objects", () => {
    const step = applyEvent(listed, { type: "BOOKMARK", object: { apiVersion: "v1", kind: "Pod", metadata: { resourceVersion: "42" } } });
    expect(step).to.include({ type: "state", changed: false });
    if (step.type === "state") expect(step.state.resourceVersion).to.equal("42");
  });

  it("asks for a re-list on a 410 Expired error event", () => {
    const step = applyEvent(listed, { type: "ERROR", object: { kind: "Status", code: 410, reason: "Expired", message: "too old resource version: 1 (9)" } });
    expect(step).to.deep.equal({ type: "relist", message: "too old resource version: 1 (9)" });
  });

  it("treats any other error event as the end of the stream", () => {
    expect(applyEvent(listed, { type: "ERROR", object: { kind: "Status", code: 500, message: "boom" } }).type).to.equal("error");
  });

  it("builds the resuming watch URL with bookmarks", () => {
    expect(watchUrl("/api/v1/pods", "17")).to.equal("/api/v1/pods?watch=true&allowWatchBookmarks=true&resourceVersion=17");
  });

  it("backs off from half a second up to fifteen", () => {
    expect([0, 1, 2, 10].map(reconnectDelayMs)).to.deep.equal([500, 1000, 2000, 15000]);
  });
});

describe("dashboard line splitter", () => {
  it("returns whole lines across chunk boundaries and skips blank keep-alives", () => {
    const s = new LineSplitter();
    expect(s.push('{"a":1}\n{"b"')).to.deep.equal(['{"a":1}']);
    expect(s.push(':2}\n\n')).to.deep.equal(['{"b":2}']);
    expect(s.push('{"c":3}')).to.deep.equal([]);
    expect(s.flush()).to.deep.equal(['{"c":3}']);
  });
});
