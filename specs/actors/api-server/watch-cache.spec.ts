import { expect } from "chai";
import type { KubeObject } from "../../../bus/resources.ts";
import type { WatchEventType } from "../../../actors/api-server/watch-cache.ts";
import { WatchCache } from "../../../actors/api-server/watch-cache.ts";

const pod = (name: string, labels: Record<string, string> = {}, ns = "default"): KubeObject => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: ns, labels } });
const put = (o: KubeObject, revision: number) => ({ op: "put" as const, key: `pods.${o.metadata.namespace}.${o.metadata.name}`, revision, object: o, initial: false });
const del = (name: string, revision: number) => ({ op: "delete" as const, key: `pods.default.${name}`, revision, initial: false });

function recorder(matches: (o: KubeObject) => boolean = () => true, namespace?: string) {
  const got: [WatchEventType, string, string][] = [];
  let closed = "";
  return {
    got,
    closed: () => closed,
    w: { namespace, matches, send: (t: WatchEventType, o: KubeObject) => got.push([t, o.metadata.name!, o.metadata.resourceVersion!]), close: (r: string) => (closed = r) },
  };
}

describe("api-server watch cache", () => {
  it("sends the current objects as ADDED to a watch without a resourceVersion, then live changes", () => {
    const c = new WatchCache();
    c.reset([{ ...pod("a"), metadata: { ...pod("a").metadata, resourceVersion: "5" } }], 10);
    const r = recorder();
    c.watch(r.w);
    c.apply(put(pod("a"), 11));
    c.apply(put(pod("b"), 12));
    c.apply(del("a", 13));
    expect(r.got).to.deep.equal([["ADDED", "a", "5"], ["MODIFIED", "a", "11"], ["ADDED", "b", "12"], ["DELETED", "a", "13"]]);
  });

  it("replays from the ring after a recent resourceVersion", () => {
    const c = new WatchCache();
    c.reset([], 10);
    c.apply(put(pod("a"), 11));
    c.apply(put(pod("b"), 12));
    const r = recorder();
    c.watch(r.w, 11);
    expect(r.got).to.deep.equal([["ADDED", "b", "12"]]);
  });

  it("answers Expired for a resourceVersion older than the ring", () => {
    const c = new WatchCache(2);
    c.reset([], 10);
    for (let i = 11; i <= 14; i++) c.apply(put(pod(`p${i}`), i));
    expect(() => c.watch(recorder().w, 11)).to.throw(/too old resource version: 11 \(12\)/);
    expect(() => c.watch(recorder().w, 12)).to.not.throw();
  });

  it("never expires the resourceVersion of a list taken after the cache synced, even one ahead of it", () => {
    const c = new WatchCache();
    c.reset([], 10);
    const r = recorder();
    c.watch(r.w, 15); // the store's list saw revision 15; the cache has not caught up yet
    c.apply(put(pod("old"), 14)); // already in that list: skipped
    c.apply(put(pod("new"), 16));
    expect(r.got).to.deep.equal([["ADDED", "new", "16"]]);
  });

  it("filters by namespace and selector, turning selection changes into ADDED and DELETED", () => {
    const c = new WatchCache();
    c.reset([], 1);
    const r = recorder((o) => o.metadata.labels?.app === "web", "default");
    c.watch(r.w, 1);
    c.apply(put(pod("x", { app: "db" }), 2));
    c.apply(put(pod("x", { app: "web" }), 3));
    c.apply(put(pod("x", { app: "web", v: "2" }), 4));
    c.apply(put(pod("x", { app: "db" }), 5));
    c.apply(put(pod("y", { app: "web" }, "other"), 6));
    expect(r.got).to.deep.equal([["ADDED", "x", "3"], ["MODIFIED", "x", "4"], ["DELETED", "x", "5"]]);
  });

  it("stops delivering to a watcher once it unregisters", () => {
    const c = new WatchCache();
    c.reset([], 1);
    const r = recorder();
    const off = c.watch(r.w, 1);
    c.apply(put(pod("a"), 2));
    off();
    c.apply(put(pod("b"), 3));
    expect(r.got.map((g) => g[1])).to.deep.equal(["a"]);
    expect(c.watcherCount).to.equal(0);
  });

  it("ends every watcher when it restarts from a new snapshot", () => {
    const c = new WatchCache();
    c.reset([], 1);
    const r = recorder();
    c.watch(r.w, 1);
    c.reset([], 50);
    expect(r.closed()).to.match(/restarted/);
    expect(() => c.watch(recorder().w, 20)).to.throw(/too old/);
  });
});
