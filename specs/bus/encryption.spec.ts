import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { stringify } from "yaml";
import { AESGCM_PREFIX, keyringOf, newEncryptionConfig, openValue, parseEncryptionConfig } from "../../bus/encryption.ts";
import { needsRefresh } from "../../actors/kubelet/volumes/pod-tokens.ts";
import { admitServiceAccount, SERVICE_ACCOUNT_MOUNT_PATH } from "../../actors/store/admission/service-account.ts";

const plain = Buffer.from('{"kind":"Secret","data":{"password":"czNjcmV0"}}');

describe("encryption at rest (EncryptionConfiguration)", () => {
  it("seals Secrets with the first key and opens them with any key of the configuration", () => {
    const cfg = newEncryptionConfig("key1");
    const sealed = keyringOf(cfg).seal("secrets", plain);
    expect(Buffer.from(sealed).subarray(0, AESGCM_PREFIX.length + 5).toString()).to.equal(`${AESGCM_PREFIX}key1:`);
    expect(Buffer.from(sealed).includes(Buffer.from("czNjcmV0"))).to.equal(false);
    const rotated = parseEncryptionConfig(stringify({ ...cfg, resources: [{ resources: ["secrets"], providers: [{ aesgcm: { keys: [{ name: "key2", secret: randomBytes(32).toString("base64") }, (cfg.resources[0]!.providers[0] as { aesgcm: { keys: { name: string; secret: string }[] } }).aesgcm.keys[0]!] } }] }] }));
    const ring = keyringOf(rotated);
    expect(Buffer.from(openValue(sealed, [ring.keys])!).toString()).to.equal(plain.toString());
    expect(Buffer.from(ring.seal("secrets", plain)).subarray(0, AESGCM_PREFIX.length + 5).toString()).to.equal(`${AESGCM_PREFIX}key2:`);
  });

  it("stores other resources as they are and reads plain values (identity)", () => {
    const ring = keyringOf(newEncryptionConfig());
    expect(Buffer.from(ring.seal("configmaps", plain)).toString()).to.equal(plain.toString());
    expect(Buffer.from(openValue(plain, [ring.keys])!).toString()).to.equal(plain.toString());
  });

  it("cannot open a value without its key, nor with another key of the same name", () => {
    const sealed = keyringOf(newEncryptionConfig("key1")).seal("secrets", plain);
    expect(openValue(sealed, [])).to.equal(undefined);
    expect(openValue(sealed, [keyringOf(newEncryptionConfig("key1")).keys])).to.equal(undefined);
  });

  it("refuses a key of the wrong size and a duplicate key name", () => {
    const bad = (keys: unknown) => () => parseEncryptionConfig(stringify({ apiVersion: "apiserver.config.k8s.io/v1", kind: "EncryptionConfiguration", resources: [{ resources: ["secrets"], providers: [{ aesgcm: { keys } }] }] }));
    expect(bad([{ name: "k", secret: Buffer.alloc(7).toString("base64") }])).to.throw(/16, 24 or 32 bytes/);
    const s = randomBytes(32).toString("base64");
    expect(bad([{ name: "k", secret: s }, { name: "k", secret: s }])).to.throw(/used twice/);
  });
});

describe("pod tokens", () => {
  it("replaces a token once 80% of its lifetime has passed", () => {
    const t = { issuedAt: 1000, expiresAt: 1000 + 3607 };
    expect(needsRefresh(t, 1000 + 2885)).to.equal(false);
    expect(needsRefresh(t, 1000 + 2886)).to.equal(true);
  });

  it("gives a pod the default ServiceAccount and its volume, but not when it opts out", () => {
    const spec: Record<string, unknown> = { containers: [{ name: "a" }, { name: "b", volumeMounts: [{ name: "own", mountPath: SERVICE_ACCOUNT_MOUNT_PATH }] }] };
    admitServiceAccount(spec, "abcde");
    expect(spec.serviceAccountName).to.equal("default");
    expect((spec.volumes as { name: string }[]).map((v) => v.name)).to.deep.equal(["kube-api-access-abcde"]);
    const [a, b] = spec.containers as { volumeMounts?: unknown[] }[];
    expect(a!.volumeMounts).to.deep.equal([{ name: "kube-api-access-abcde", readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH }]);
    expect(b!.volumeMounts).to.have.length(1);
    const off: Record<string, unknown> = { serviceAccountName: "builder", automountServiceAccountToken: false, containers: [{ name: "a" }] };
    admitServiceAccount(off, "abcde");
    expect(off.serviceAccountName).to.equal("builder");
    expect(off.volumes).to.equal(undefined);
  });
});
