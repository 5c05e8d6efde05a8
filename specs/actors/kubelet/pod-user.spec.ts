import { expect } from "chai";
import { mkdtempSync, rmSync, statSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import type { Pod, Container } from "../../../bus/resources.ts";
import { runAsRequest, nonRootViolation, podFsUser } from "../../../actors/kubelet/security-context.ts";
import { parsePasswd, resolveRunAs, dropPrivileges, FALLBACK_POD_ID, ensurePodUser } from "../../../actors/kubelet/engines/process-user.ts";
import { ownedMode, tokenMode, applyFsGroup } from "../../../actors/kubelet/volumes/ownership.ts";
import { writePayload } from "../../../actors/kubelet/volumes/atomic-writer.ts";
import { terminationMount } from "../../../actors/kubelet/termination-message.ts";

const pod = (sc: Record<string, unknown> | undefined, csc?: Record<string, unknown>): Pod => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p", namespace: "ns", uid: "u-1" },
  spec: { ...(sc ? { securityContext: sc } : {}), containers: [{ name: "c", ...(csc ? { securityContext: csc } : {}) } as Container] },
});
const passwd = parsePasswd("root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\nflotilla-pod:x:995:995::/nonexistent:/usr/sbin/nologin\nbroken line\n");
const dflt = { uid: 995, gid: 995, name: "flotilla-pod" };

describe("pod users", () => {
  describe("runAsRequest", () => {
    it("takes the container's runAsUser, runAsGroup and runAsNonRoot over the pod's, and fsGroup and supplementalGroups from the pod", () => {
      const p = pod({ runAsUser: 1, runAsGroup: 2, runAsNonRoot: false, fsGroup: 3, supplementalGroups: [4, 5] }, { runAsUser: 10, runAsNonRoot: true, allowPrivilegeEscalation: false });
      expect(runAsRequest(p, p.spec.containers[0]!)).to.deep.equal({ runAsUser: 10, runAsGroup: 2, runAsNonRoot: true, fsGroup: 3, supplementalGroups: [4, 5], allowPrivilegeEscalation: false });
    });
    it("ignores fields that are not non-negative integers or booleans", () => {
      const p = pod({ runAsUser: "root", runAsGroup: -1, supplementalGroups: [1, "x"] });
      expect(runAsRequest(p, p.spec.containers[0]!)).to.deep.equal({ supplementalGroups: [1] });
    });
  });

  describe("nonRootViolation", () => {
    it("refuses an explicit runAsUser 0 with Kubernetes' text", () => {
      const p = pod({ runAsNonRoot: true, runAsUser: 0 });
      expect(nonRootViolation(p, p.spec.containers[0]!, runAsRequest(p, p.spec.containers[0]!), 995)).to.equal(`container's runAsUser breaks non-root policy (pod: "p_ns(u-1)", container: c)`);
    });
    it("refuses a default user that is root, lets a non-root or unknown default through, and checks nothing without runAsNonRoot", () => {
      const p = pod({ runAsNonRoot: true });
      const req = runAsRequest(p, p.spec.containers[0]!);
      expect(nonRootViolation(p, p.spec.containers[0]!, req, 0)).to.equal(`container has runAsNonRoot and image will run as root (pod: "p_ns(u-1)", container: c)`);
      expect(nonRootViolation(p, p.spec.containers[0]!, req, 995)).to.equal(undefined);
      expect(nonRootViolation(p, p.spec.containers[0]!, req, undefined)).to.equal(undefined);
      const q = pod({ runAsUser: 0 });
      expect(nonRootViolation(q, q.spec.containers[0]!, runAsRequest(q, q.spec.containers[0]!), 0)).to.equal(undefined);
    });
  });

  describe("resolveRunAs", () => {
    it("runs as the dedicated user by default, with no other groups", () => {
      expect(resolveRunAs({ supplementalGroups: [] }, dflt, passwd)).to.deep.equal({ uid: 995, gid: 995, groups: [] });
    });
    it("gives a runAsUser the primary group of its passwd entry, else the dedicated group; runAsGroup wins", () => {
      expect(resolveRunAs({ runAsUser: 1000, supplementalGroups: [] }, dflt, passwd)).to.deep.equal({ uid: 1000, gid: 1000, groups: [] });
      expect(resolveRunAs({ runAsUser: 1234, supplementalGroups: [] }, dflt, passwd)).to.deep.equal({ uid: 1234, gid: 995, groups: [] });
      expect(resolveRunAs({ runAsUser: 0, runAsGroup: 7, supplementalGroups: [] }, dflt, passwd)).to.deep.equal({ uid: 0, gid: 7, groups: [] });
    });
    it("adds supplementalGroups and fsGroup as supplementary groups, once each", () => {
      expect(resolveRunAs({ supplementalGroups: [4000, 3000], fsGroup: 3000, allowPrivilegeEscalation: false }, dflt, passwd)).to.deep.equal({ uid: 995, gid: 995, groups: [4000, 3000], noNewPrivs: true });
    });
  });

  it("switches with setpriv, replacing the kubelet's groups", () => {
    expect(dropPrivileges({ uid: 995, gid: 995, groups: [] })).to.deep.equal(["setpriv", "--reuid", "995", "--regid", "995", "--clear-groups", "--"]);
    expect(dropPrivileges({ uid: 1, gid: 2, groups: [3, 4], noNewPrivs: true })).to.deep.equal(["setpriv", "--reuid", "1", "--regid", "2", "--groups", "3,4", "--no-new-privs", "--"]);
  });

  it("falls back to 65532 when the user can neither be found nor created", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flotilla-passwd-"));
    try {
      writeFileSync(join(dir, "passwd"), "root:x:0:0::/root:/bin/sh\n");
      const u = await ensurePodUser(async () => ({ code: 1, stdout: "", stderr: "useradd: cannot lock /etc/passwd" }), join(dir, "passwd"));
      expect(u).to.deep.equal({ uid: FALLBACK_POD_ID, gid: FALLBACK_POD_ID });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("owns the pod's volume files by its one user only when every container runs as that user", () => {
    expect(podFsUser([{ uid: 5, gid: 5, groups: [] }, { uid: 5, gid: 6, groups: [] }])).to.equal(5);
    expect(podFsUser([{ uid: 5, gid: 5, groups: [] }, { uid: 6, gid: 6, groups: [] }])).to.equal(undefined);
    expect(podFsUser([undefined])).to.equal(undefined);
  });

  it("gives files group read under fsGroup and tokens 0600 once the owner is known, as Kubernetes does", () => {
    expect(ownedMode(0o400, { fsGroup: 3 }).toString(8)).to.equal("440");
    expect(ownedMode(0o400, { fsUser: 3 }).toString(8)).to.equal("400");
    expect(tokenMode(0o644, {}).toString(8)).to.equal("644");
    expect(tokenMode(0o644, { fsUser: 3 }).toString(8)).to.equal("600");
  });

  describe("on disk", function () {
    let dir: string;
    before(function () {
      if (process.getuid?.() !== 0) this.skip();
    });
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "flotilla-own-"))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("writes a volume's files owned by fsUser and fsGroup, and rewrites a version owned by someone else", () => {
      const payload = () => new Map([["k", { data: Buffer.from("x"), mode: 0o440 }]]);
      expect(writePayload(dir, payload())).to.equal(true);
      expect(statSync(join(dir, "k")).uid).to.equal(0);
      expect(writePayload(dir, payload(), new Date(), { fsUser: 1234, fsGroup: 3000 })).to.equal(true);
      const st = statSync(join(dir, "k"));
      expect([st.uid, st.gid, (st.mode & 0o777).toString(8)]).to.deep.equal([1234, 3000, "440"]);
      expect(writePayload(dir, payload(), new Date(), { fsUser: 1234, fsGroup: 3000 })).to.equal(false);
    });

    it("gives a writable volume's tree the fsGroup with group write and setgid directories", () => {
      mkdirSync(join(dir, "sub"));
      writeFileSync(join(dir, "sub", "f"), "x", { mode: 0o600 });
      applyFsGroup(dir, 3000, { readOnly: false });
      const sub = statSync(join(dir, "sub"));
      expect(sub.gid).to.equal(3000);
      expect((sub.mode & 0o2070).toString(8)).to.equal("2070");
      expect((statSync(join(dir, "sub", "f")).mode & 0o777).toString(8)).to.equal("660");
    });
  });

  it("mounts the termination-message file at the default /dev/termination-log on the process engine when it has mount namespaces", () => {
    const dir = mkdtempSync(join(tmpdir(), "flotilla-tm-"));
    try {
      const m = terminationMount("process", dir, { name: "c" }, 0, { mountNamespaces: true });
      expect(m).to.deep.include({ target: "/dev/termination-log", readOnly: false });
      expect(terminationMount("process", dir, { name: "c" }, 0, { mountNamespaces: false })).to.equal(undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
