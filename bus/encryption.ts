/**
 * Encryption at rest in the shape of Kubernetes' EncryptionConfiguration
 * (`apiserver.config.k8s.io/v1`): per group of resources an ordered list of providers; the first
 * provider encrypts new writes, every provider is tried to read. Providers: `aesgcm` (named 16/24/32
 * byte keys, base64; its first key encrypts, all its keys decrypt) and `identity` (plain JSON).
 * A value written by `aesgcm` is `k8s:enc:aesgcm:v1:<key name>:` + 12-byte nonce + ciphertext +
 * 16-byte tag, as kube-apiserver stores it in etcd.
 *
 * Every process that reads encrypted resources straight from KV (the store; the api-server's watch
 * caches) installs the keys it was given (`installKeys`); `decodeObject` (bus/kv.ts) then opens
 * values it can, and treats one it cannot as absent.
 *
 * @example
 *   const keys = keyringOf(parseEncryptionConfig(readFileSync(path, "utf8")));
 *   installKeys(keys);
 *   const stored = keys.seal("secrets", plaintext);   // k8s:enc:aesgcm:v1:key1:…
 *   openValue(stored)                                // plaintext again
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { parse } from "yaml";

export const AESGCM_PREFIX = "k8s:enc:aesgcm:v1:";

export interface AesKey {
  name: string;
  /** base64 of 16, 24 or 32 bytes. */
  secret: string;
}

export type Provider = { aesgcm: { keys: AesKey[] } } | { identity: Record<string, never> };

export interface EncryptionConfiguration {
  apiVersion: "apiserver.config.k8s.io/v1";
  kind: "EncryptionConfiguration";
  resources: { resources: string[]; providers: Provider[] }[];
}

export class EncryptionConfigError extends Error {
  override name = "EncryptionConfigError";
}

const bad = (m: string) => new EncryptionConfigError(`encryption configuration: ${m}`);

/** Parses and checks a configuration (YAML or JSON). Throws EncryptionConfigError. */
export function parseEncryptionConfig(text: string): EncryptionConfiguration {
  const c = parse(text) as Partial<EncryptionConfiguration> | null;
  if (!c || c.kind !== "EncryptionConfiguration" || c.apiVersion !== "apiserver.config.k8s.io/v1") throw bad("kind must be EncryptionConfiguration, apiVersion apiserver.config.k8s.io/v1");
  if (!Array.isArray(c.resources) || c.resources.length === 0) throw bad("resources must list at least one entry");
  c.resources.forEach((r, i) => {
    if (!Array.isArray(r.resources) || r.resources.length === 0 || !r.resources.every((x) => typeof x === "string")) throw bad(`resources[${i}].resources must name resources`);
    if (!Array.isArray(r.providers) || r.providers.length === 0) throw bad(`resources[${i}].providers must list at least one provider`);
    r.providers.forEach((p, j) => {
      if ("aesgcm" in p) {
        const keys = p.aesgcm?.keys;
        if (!Array.isArray(keys) || keys.length === 0) throw bad(`resources[${i}].providers[${j}].aesgcm.keys must list at least one key`);
        const names = new Set<string>();
        for (const k of keys) {
          if (typeof k.name !== "string" || !/^[A-Za-z0-9_.-]+$/.test(k.name)) throw bad(`key name ${JSON.stringify(k.name)} must be letters, digits, '.', '_' or '-'`);
          if (names.has(k.name)) throw bad(`key name ${k.name} is used twice`);
          names.add(k.name);
          const n = typeof k.secret === "string" ? Buffer.from(k.secret, "base64").length : 0;
          if (![16, 24, 32].includes(n)) throw bad(`key ${k.name}: secret must be base64 of 16, 24 or 32 bytes`);
        }
      } else if (!("identity" in p)) throw bad(`resources[${i}].providers[${j}] must be aesgcm or identity`);
    });
  });
  return c as EncryptionConfiguration;
}

/** A configuration with one new random 32-byte aesgcm key for Secrets, identity as the fallback. */
export function newEncryptionConfig(keyName = "key1", secret = randomBytes(32).toString("base64")): EncryptionConfiguration {
  return {
    apiVersion: "apiserver.config.k8s.io/v1",
    kind: "EncryptionConfiguration",
    resources: [{ resources: ["secrets"], providers: [{ aesgcm: { keys: [{ name: keyName, secret }] } }, { identity: {} }] }],
  };
}

export interface Keyring {
  /** What a write of `resource` stores: sealed with the first provider's first key, or the plaintext (identity). */
  seal(resource: string, plaintext: Uint8Array): Uint8Array;
  /** Every aesgcm key of the configuration, by name. */
  readonly keys: ReadonlyMap<string, Buffer>;
}

const cipherName = (key: Buffer) => `aes-${key.length * 8}-gcm` as "aes-256-gcm";

export function sealWith(name: string, key: Buffer, plaintext: Uint8Array): Uint8Array {
  const nonce = randomBytes(12);
  const c = createCipheriv(cipherName(key), key, nonce);
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([Buffer.from(`${AESGCM_PREFIX}${name}:`), nonce, body, c.getAuthTag()]);
}

export function keyringOf(cfg: EncryptionConfiguration): Keyring {
  const keys = new Map<string, Buffer>();
  const writer = new Map<string, AesKey | undefined>();
  for (const r of cfg.resources) {
    for (const p of r.providers) if ("aesgcm" in p) for (const k of p.aesgcm.keys) keys.set(k.name, Buffer.from(k.secret, "base64"));
    const first = r.providers[0]!;
    for (const res of r.resources) if (!writer.has(res)) writer.set(res, "aesgcm" in first ? first.aesgcm.keys[0] : undefined);
  }
  return {
    keys,
    seal(resource, plaintext) {
      const k = writer.get(resource) ?? writer.get("*.*");
      return k ? sealWith(k.name, keys.get(k.name)!, plaintext) : plaintext;
    },
  };
}

/** The keys installed in this process (see the file's comment); the newest installation first. */
let installed: ReadonlyMap<string, Buffer>[] = [];

export function installKeys(k: Keyring): () => void {
  installed = [k.keys, ...installed];
  return () => {
    installed = installed.filter((m) => m !== k.keys);
  };
}

const PREFIX_BYTES = Buffer.from(AESGCM_PREFIX);

export function isSealed(data: Uint8Array): boolean {
  return data.length > PREFIX_BYTES.length && Buffer.from(data.buffer, data.byteOffset, PREFIX_BYTES.length).equals(PREFIX_BYTES);
}

/** The plaintext of a stored value: itself when not sealed, undefined when no installed key opens it. */
export function openValue(data: Uint8Array, keySets: readonly ReadonlyMap<string, Buffer>[] = installed): Uint8Array | undefined {
  if (!isSealed(data)) return data;
  const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
  const colon = buf.indexOf(0x3a, PREFIX_BYTES.length);
  if (colon < 0 || buf.length < colon + 1 + 12 + 16) return undefined;
  const name = buf.subarray(PREFIX_BYTES.length, colon).toString("utf8");
  const nonce = buf.subarray(colon + 1, colon + 13);
  const body = buf.subarray(colon + 13, buf.length - 16);
  const tag = buf.subarray(buf.length - 16);
  for (const set of keySets) {
    const key = set.get(name);
    if (!key) continue;
    try {
      const d = createDecipheriv(cipherName(key), key, nonce);
      d.setAuthTag(tag);
      return Buffer.concat([d.update(body), d.final()]);
    } catch {
      // Another cluster's key of the same name in this process: try the next.
    }
  }
  return undefined;
}
