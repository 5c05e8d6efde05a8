/**
 * The encryption configuration file of a data dir (`<dataDir>/encryption-config.yaml`, 0600, in
 * the shape of Kubernetes' EncryptionConfiguration; bus/encryption.ts): created with one random
 * AES-GCM key on first start, followed while it changes (the store seals with the file's current
 * first key; every process that reads KV decrypts with all its keys), so a key can be rotated
 * without a restart: `flotilla encryption rotate` (cli) adds a key, rewrites every Secret and
 * removes the old key.
 *
 * @example
 *   const enc = followEncryptionConfig(ensureEncryptionConfig(dataDir), log);
 *   enc.seal("secrets", bytes); enc.stop();
 */
import type { Logger } from "../../runtime/logger.ts";
import type { Keyring } from "../../bus/encryption.ts";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { installKeys, keyringOf, newEncryptionConfig, parseEncryptionConfig } from "../../bus/encryption.ts";
import { writeFileAtomic } from "../../runtime/atomic-file.ts";

export const ENCRYPTION_CONFIG_FILE = "encryption-config.yaml";

export function encryptionConfigPath(dataDir: string): string {
  return join(dataDir, ENCRYPTION_CONFIG_FILE);
}

/** Creates the file with a new key when absent; returns its path. */
export function ensureEncryptionConfig(dataDir: string): string {
  const path = encryptionConfigPath(dataDir);
  if (!existsSync(path)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileAtomic(path, stringify(newEncryptionConfig()), { mode: 0o600 });
  }
  return path;
}

export interface FollowedKeyring {
  seal(resource: string, plaintext: Uint8Array): Uint8Array;
  stop(): void;
}

/**
 * Reads the file and installs its keys, then re-reads it whenever its mtime changes (checked at
 * each seal and every second). A file that does not parse keeps the keys in use and is reported.
 */
export function followEncryptionConfig(path: string, log: Logger, intervalMs = 1000): FollowedKeyring {
  let current: Keyring = keyringOf(parseEncryptionConfig(readFileSync(path, "utf8")));
  let uninstall = installKeys(current);
  let mtime = statSync(path).mtimeMs;
  const check = () => {
    let m: number;
    try {
      m = statSync(path).mtimeMs;
    } catch {
      return;
    }
    if (m === mtime) return;
    mtime = m;
    try {
      const next = keyringOf(parseEncryptionConfig(readFileSync(path, "utf8")));
      const old = uninstall;
      uninstall = installKeys(next);
      old();
      current = next;
      log.info("encryption configuration reloaded", { path, keys: [...next.keys.keys()] });
    } catch (e) {
      log.error("encryption configuration not reloaded: keeping the keys in use", { path, error: (e as Error).message });
    }
  };
  const t = setInterval(check, intervalMs);
  t.unref();
  return {
    seal(resource, plaintext) {
      check();
      return current.seal(resource, plaintext);
    },
    stop() {
      clearInterval(t);
      uninstall();
    },
  };
}
