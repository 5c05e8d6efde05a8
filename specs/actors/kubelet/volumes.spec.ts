import { expect } from "chai";
import { mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import type { Pod } from "../../../bus/resources.ts";
import { volumePayload, formatMap } from "../../../actors/kubelet/volumes/payload.ts";
import { writePayload } from "../../../actors/kubelet/volumes/atomic-writer.ts";
import { ConfigError } from "../../../actors/kubelet/env.ts";

const pod: Pod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p", namespace: "ns", uid: "u1", labels: { b: "2", a: "1" } },
  spec: { containers: [{ name: "c", resources: { limits: { cpu: "1500m" } } }] },
};
const ctx = { podIP: "10.0.0.1", hostIP: "127.0.0.1", nodeName: "n1" };
const lookups = {
  configMap: (n: string) => (n === "web" ? { apiVersion: "v1" as const, kind: "ConfigMap" as const, metadata: { name: "web" }, data: { a: "A", b: "B" }, binaryData: { bin: Buffer.from([0, 1]).toString("base64") } } : undefined),
  secret: (n: string) => (n === "s" ? { apiVersion: "v1" as const, kind: "Secret" as const, metadata: { name: "s" }, data: { pw: Buffer.from("x").toString("base64") } } : undefined),
};
const text = (p: Map<string, { data: Buffer; mode: number }>) => Object.fromEntries([...p].map(([k, v]) => [k, [v.data.toString("utf8"), v.mode.toString(8)]]));

describe("kubelet volumes", () => {
  describe("volumePayload", () => {
    it("writes every key of a ConfigMap (binaryData too) with mode 0644", () => {
      const p = volumePayload(pod, { name: "v", configMap: { name: "web" } }, lookups, ctx);
      expect(text(p)).to.deep.equal({ a: ["A", "644"], b: ["B", "644"], bin: ["\u0000\u0001", "644"] });
    });
    it("writes only the listed items, at their paths, with their modes or defaultMode", () => {
      const p = volumePayload(pod, { name: "v", secret: { secretName: "s", defaultMode: 0o400, items: [{ key: "pw", path: "dir/pw" }] } }, lookups, ctx);
      expect(text(p)).to.deep.equal({ "dir/pw": ["x", "400"] });
    });
    it("fails for a missing ConfigMap unless optional", () => {
      expect(() => volumePayload(pod, { name: "v", configMap: { name: "nope" } }, lookups, ctx)).to.throw(ConfigError, 'configmap "nope" not found');
      expect(volumePayload(pod, { name: "v", configMap: { name: "nope", optional: true } }, lookups, ctx).size).to.equal(0);
    });
    it("formats labels as sorted key=\"value\" lines and resource fields with their divisor", () => {
      const p = volumePayload(pod, { name: "v", downwardAPI: { items: [{ path: "l", fieldRef: { fieldPath: "metadata.labels" } }, { path: "cpu", resourceFieldRef: { resource: "limits.cpu", divisor: "1m" } }] } }, lookups, ctx);
      expect(text(p)).to.deep.equal({ l: ['a="1"\nb="2"', "644"], cpu: ["1500", "644"] });
      expect(formatMap({})).to.equal("");
    });
    it("rejects item paths that leave the volume", () => {
      expect(() => volumePayload(pod, { name: "v", configMap: { name: "web", items: [{ key: "a", path: "../x" }] } }, lookups, ctx)).to.throw(ConfigError);
    });
  });

  describe("writePayload", () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "flotilla-vol-"))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));
    const file = (k: string, v: string) => [k, { data: Buffer.from(v), mode: 0o644 }] as const;

    it("lays files out as ..<timestamp>/ with ..data pointing at it and one symlink per key", () => {
      expect(writePayload(dir, new Map([file("a", "1"), file("sub/b", "2")]))).to.equal(true);
      const version = readlinkSync(join(dir, "..data"));
      expect(version).to.match(/^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d+$/);
      expect(readlinkSync(join(dir, "a"))).to.equal("..data/a");
      expect(readlinkSync(join(dir, "sub"))).to.equal("..data/sub");
      expect(readFileSync(join(dir, "sub", "b"), "utf8")).to.equal("2");
    });
    it("swaps to a new version on change, drops removed keys and the old version, and writes nothing when unchanged", () => {
      writePayload(dir, new Map([file("a", "1"), file("b", "2")]));
      const first = readlinkSync(join(dir, "..data"));
      expect(writePayload(dir, new Map([file("a", "1"), file("b", "2")]))).to.equal(false);
      expect(writePayload(dir, new Map([file("a", "changed")]))).to.equal(true);
      expect(readlinkSync(join(dir, "..data"))).to.not.equal(first);
      expect(readFileSync(join(dir, "a"), "utf8")).to.equal("changed");
      expect(readdirSync(dir).sort()).to.deep.equal(["..data", readlinkSync(join(dir, "..data")), "a"].sort());
    });
    it("gives each file its mode", () => {
      writePayload(dir, new Map([["k", { data: Buffer.from("x"), mode: 0o400 }]]));
      expect((statSync(join(dir, "k")).mode & 0o777).toString(8)).to.equal("400");
    });
  });
});
