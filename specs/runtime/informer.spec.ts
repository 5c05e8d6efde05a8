/**
 * The informer against a scripted KV watch: the spec decides when the snapshot is complete, when
 * the watch breaks and whether the revision to resume from is still retained.
 */
import { expect } from "chai";
import type { NatsConnection } from "@nats-io/transport-node";
import type { KvChange } from "../../bus/kv.ts";
import type { ConfigMap, KubeObject } from "../../bus/resources.ts";
import { keyOf } from "../../bus/kv.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { Informer } from "../../runtime/informer.ts";
import { waitFor } from "../harness/cluster.ts";
import { quietLog } from "../harness/quiet-log.ts";
import { recordingInformer, scriptedWatch } from "../harness/scripted-watch.ts";


const cm = (name: string, revision: number, data: Record<string, string> = {}): ConfigMap => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: "default", resourceVersion: String(revision) },
  data,
});
const put = (name: string, revision: number, initial: boolean, data: Record<string, string> = {}): KvChange => ({
  op: "put",
  key: keyOf("configmaps", "default", name),
  revision,
  object: cm(name, revision, data),
  initial,
});
const del = (name: string, revision: number): KvChange => ({ op: "delete", key: keyOf("configmaps", "default", name), revision, initial: false });

const informerWith = (s: ReturnType<typeof scriptedWatch>) => recordingInformer(s.watch);

/** Starts the informer on a snapshot of `objects` (name → revision), synced at `revision`. */
async function started(s: ReturnType<typeof scriptedWatch>, inf: Informer<ConfigMap>, objects: [string, number][], revision: number) {
  const start = inf.start();
  await waitFor(() => s.opened.length === 1);
  for (const [name, rev] of objects) s.opened[0]!.opts.onChange(put(name, rev, true));
  s.opened[0]!.synced(revision);
  await start;
}

describe("informer", () => {
  const informers: Informer<ConfigMap>[] = [];
  afterEach(() => informers.splice(0).forEach((i) => i.stop()));

  describe("synced", () => {
    it("tells handlers nothing and is not synced until the whole first list is in", async () => {
      const s = scriptedWatch();
      const { inf, seen } = informerWith(s);
      informers.push(inf);
      const start = inf.start();
      await waitFor(() => s.opened.length === 1);
      s.opened[0]!.opts.onChange(put("a", 5, true));
      s.opened[0]!.opts.onChange(put("b", 6, true));
      expect(inf.synced).to.equal(false);
      expect(seen).to.deep.equal([]);
      expect(inf.list()).to.deep.equal([]);
      s.opened[0]!.synced(6);
      await start;
      expect(inf.synced).to.equal(true);
      expect(seen).to.deep.equal(["add a@5", "add b@6"]);
      expect(inf.revision).to.equal(6);
    });
  });

  describe("resume", () => {
    it("resumes after the last revision it saw when the watch breaks, without listing again", async () => {
      const s = scriptedWatch();
      const { inf, seen } = informerWith(s);
      informers.push(inf);
      await started(s, inf, [["a", 5]], 6);
      s.opened[0]!.opts.onChange(put("a", 7, false, { v: "2" }));
      s.opened[0]!.opts.onError!(new FlotillaError(ErrorCode.Unavailable, "watch closed"));
      await waitFor(() => s.opened.length === 2, { what: "the resumed watch" });
      expect(s.opened[0]!.stopped).to.equal(true);
      expect(s.asked).to.deep.equal([undefined, 7]);
      s.opened[1]!.opts.onChange(del("a", 8));
      expect(seen).to.deep.equal(["add a@5", "update a@7", "delete a"]);
    });
  });

  describe("Expired", () => {
    it("re-lists when the revision to resume from is gone, and tells handlers exactly what changed meanwhile", async () => {
      const s = scriptedWatch();
      const { inf, seen } = informerWith(s);
      informers.push(inf);
      await started(s, inf, [["a", 5], ["b", 6], ["d", 4]], 6);
      seen.length = 0;
      s.refuseNextWith(new FlotillaError(ErrorCode.Expired, "too old resource version: 6 (40)"));
      s.opened[0]!.opts.onError!(new FlotillaError(ErrorCode.Unavailable, "watch closed"));
      await waitFor(() => s.opened.length === 2, { what: "the re-list" });
      expect(s.asked, "resume refused, then a fresh list").to.deep.equal([undefined, 6, undefined]);
      const relist = s.opened[1]!;
      relist.opts.onChange(put("a", 41, true, { v: "2" })); // changed while away
      relist.opts.onChange(put("d", 4, true)); // unchanged
      relist.opts.onChange(put("c", 42, true)); // new; b was deleted while away
      relist.synced(42);
      await waitFor(() => seen.length === 3, { what: "the diff" });
      expect(seen.sort()).to.deep.equal(["add c@42", "delete b", "update a@41"]);
      expect(inf.list().map((o) => o.metadata.name).sort()).to.deep.equal(["a", "c", "d"]);
    });
  });

  describe("feed", () => {
    it("gets every (re)list as a snapshot and each change after it, also the changes that raced the snapshot", async () => {
      const s = scriptedWatch();
      const inf = new Informer<ConfigMap>({} as NatsConnection, "test", { resource: "configmaps", watch: s.watch, log: quietLog });
      informers.push(inf);
      const fed: string[] = [];
      inf.addFeed({
        replace: (objects: KubeObject[], revision: number) => void fed.push(`replace ${objects.map((o) => o.metadata.name).join(",")}@${revision}`),
        change: (c: KvChange) => void fed.push(`${c.op} ${c.revision}`),
      });
      const start = inf.start();
      await waitFor(() => s.opened.length === 1);
      s.opened[0]!.opts.onChange(put("a", 5, true));
      s.opened[0]!.opts.onChange(put("b", 7, false)); // live, before the list is complete
      s.opened[0]!.synced(6);
      await start;
      s.opened[0]!.opts.onChange(del("a", 8));
      expect(fed).to.deep.equal(["replace a@6", "put 7", "delete 8"]);
    });
  });
});
