/**
 * The kubelet's volume manager: before a pod's containers start (and at every sync after, so
 * configMap and secret volumes follow their objects) it makes each volume of the pod a directory on
 * the node, and turns the containers' volumeMounts into host bind mounts for the engine:
 *
 *   <root>/<podUid>/<volumeName>/      emptyDir (0777; a tmpfs for `medium: Memory` when asked and root)
 *                                      configMap, secret, downwardAPI, projected (atomic-writer.ts layout)
 *   hostPath volumes                   the host path itself (created for DirectoryOrCreate / FileOrCreate)
 *   persistentVolumeClaim volumes      the path of the hostPath or local PersistentVolume the claim is bound to
 *                                      (local-path volumes: `<dataDir>/storage/<cluster>/<node>/pvc-…`), which
 *                                      outlives the pod: tearDown never touches it
 *
 * `<root>` (`<dataDir>/kubelet/<cluster>/<node>/volumes`) is 0700, so secret contents are never
 * readable by other users of the node, whatever the files' own modes.
 *
 * Pods that run as another user than the kubelet's reach their volumes only through the bind
 * mounts; `setUp` is given the pod's owner (fsUser / fsGroup, ownership.ts) so they can use them.
 */
import type { Pod, Container, ConfigMap, Secret, Volume } from "../../../bus/resources.ts";
import type { StoreClient } from "../../../bus/store-client.ts";
import type { Logger } from "../../../runtime/logger.ts";
import type { Runner } from "../../../runtime/command.ts";
import type { EnvContext } from "../env.ts";
import type { HostMount } from "../engines/types.ts";
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync, statSync } from "node:fs";
import { join, dirname, normalize, isAbsolute } from "node:path";
import type { PersistentVolume, PersistentVolumeClaim } from "../../../bus/storage.ts";
import { ConfigError } from "../env.ts";
import { isCode, ErrorCode } from "../../../bus/errors.ts";
import { units } from "../../../bus/quantity.ts";
import { commandRunner } from "../../../runtime/command.ts";
import type { PodTokens } from "./pod-tokens.ts";
import { volumePayload, volumeRefs, isProjectedKind, tokenSources, tokenSourceKey } from "./payload.ts";
import { writePayload } from "./atomic-writer.ts";
import type { VolumeOwner } from "./ownership.ts";
import { applyFsGroup, ownedMode, tokenMode } from "./ownership.ts";

export interface VolumeManagerOptions {
  /** `<dataDir>/kubelet/<cluster>/<node>/volumes`. */
  root: string;
  store: StoreClient;
  log: Logger;
  /** Mount a tmpfs for `emptyDir.medium: Memory` (needs root; else a plain directory). */
  memoryAsTmpfs: boolean;
  run?: Runner;
  /** ServiceAccount tokens for projected `serviceAccountToken` sources (none: those files are left out). */
  tokens?: PodTokens;
}

async function getOr<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (isCode(e, ErrorCode.NotFound)) return undefined;
    throw e;
  }
}

/** Whether `dir` is a mount point (listed in /proc/self/mountinfo). */
function isMountPoint(dir: string): boolean {
  try {
    return readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .some((l) => l.split(" ")[4] === dir);
  } catch {
    return false;
  }
}

/** A relative path that stays inside its volume. */
function safeSubPath(p: string): string {
  const n = normalize(p);
  if (isAbsolute(p) || n === ".." || n.startsWith("../")) throw new ConfigError(`subPath "${p}" must be a relative path that does not go above the volume`);
  return n;
}

/** A volume that cannot be set up yet (a claim not bound, its volume not there): the pod stays ContainerCreating and is retried. */
export class VolumeNotReady extends ConfigError {
  override name = "VolumeNotReady";
  override readonly reason = "ContainerCreating";
}

export class VolumeManager {
  private readonly run: Runner;
  constructor(private readonly o: VolumeManagerOptions) {
    this.run = o.run ?? commandRunner();
  }

  podDir(uid: string): string {
    return join(this.o.root, uid);
  }

  /** The ConfigMaps and Secrets the pod's volumes read. */
  refs(pod: Pod): { configMaps: string[]; secrets: string[] } {
    const configMaps = new Set<string>();
    const secrets = new Set<string>();
    for (const v of pod.spec.volumes ?? []) {
      const r = volumeRefs(v);
      r.configMaps.forEach((n) => configMaps.add(n));
      r.secrets.forEach((n) => secrets.add(n));
    }
    return { configMaps: [...configMaps], secrets: [...secrets] };
  }

  /** Makes (or refreshes) every volume of the pod; returns volume name → host path. Throws ConfigError. */
  async setUp(pod: Pod, ctx: EnvContext, owner: VolumeOwner = {}): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const volumes = pod.spec.volumes ?? [];
    if (volumes.length === 0) return out;
    mkdirSync(this.o.root, { recursive: true, mode: 0o700 });
    chmodSync(this.o.root, 0o700);
    const ns = pod.metadata.namespace ?? "default";
    const refs = this.refs(pod);
    const cms = new Map<string, ConfigMap | undefined>();
    const secrets = new Map<string, Secret | undefined>();
    await Promise.all([
      ...refs.configMaps.map(async (n) => cms.set(n, await getOr(this.o.store.get<ConfigMap>("configmaps", ns, n)))),
      ...refs.secrets.map(async (n) => secrets.set(n, await getOr(this.o.store.get<Secret>("secrets", ns, n)))),
    ]);
    const tokens = new Map<string, string | undefined>();
    for (const src of volumes.flatMap(tokenSources)) {
      const k = tokenSourceKey(src);
      if (!tokens.has(k)) tokens.set(k, await this.o.tokens?.get(pod, src));
    }
    const lookups = { configMap: (n: string) => cms.get(n), secret: (n: string) => secrets.get(n), serviceAccountToken: (src: Parameters<typeof tokenSourceKey>[0]) => tokens.get(tokenSourceKey(src)) };
    const base = this.podDir(pod.metadata.uid!);
    mkdirSync(base, { recursive: true, mode: 0o750 });
    for (const v of volumes) out.set(v.name, await this.setUpOne(pod, v, join(base, v.name), lookups, ctx, owner));
    return out;
  }

  private async setUpOne(pod: Pod, v: Volume, dir: string, lookups: Parameters<typeof volumePayload>[2], ctx: EnvContext, owner: VolumeOwner): Promise<string> {
    if (isProjectedKind(v)) {
      const payload = volumePayload(pod, v, lookups, ctx, { fileMode: (m) => ownedMode(m, owner), tokenMode: (m) => tokenMode(m, owner) });
      if (writePayload(dir, payload, new Date(), owner)) this.o.log.debug("volume written", { pod: pod.metadata.name, volume: v.name });
      return dir;
    }
    if (v.hostPath) {
      const p = v.hostPath.path;
      const type = v.hostPath.type ?? "";
      if (type === "DirectoryOrCreate") mkdirSync(p, { recursive: true, mode: 0o755 });
      else if (type === "FileOrCreate" && !existsSync(p)) {
        mkdirSync(dirname(p), { recursive: true });
        writeFileSync(p, "", { mode: 0o644 });
      } else if (type === "Directory" && !(existsSync(p) && statSync(p).isDirectory())) throw new ConfigError(`hostPath type check failed: ${p} is not a directory`);
      else if (type === "File" && !(existsSync(p) && statSync(p).isFile())) throw new ConfigError(`hostPath type check failed: ${p} is not a file`);
      return p;
    }
    if (v.persistentVolumeClaim) {
      const p = await this.claimPath(pod, v);
      if (owner.fsGroup !== undefined) applyFsGroup(p, owner.fsGroup, { readOnly: false, onRootMismatch: true });
      return p;
    }
    if (v.emptyDir || Object.keys(v).length === 1) {
      const created = !existsSync(dir);
      mkdirSync(dir, { recursive: true });
      if (v.emptyDir?.medium === "Memory" && this.o.memoryAsTmpfs && !isMountPoint(dir)) {
        const size = v.emptyDir.sizeLimit !== undefined ? `,size=${units(v.emptyDir.sizeLimit)}` : "";
        const r = await this.run("mount", ["-t", "tmpfs", "-o", `mode=0777${size}`, "tmpfs", dir]);
        if (r.code !== 0) throw new ConfigError(`emptyDir ${v.name}: mount tmpfs: ${r.stderr.trim()}`);
      } else if (created) chmodSync(dir, 0o777);
      if (owner.fsGroup !== undefined) applyFsGroup(dir, owner.fsGroup, { readOnly: false, onRootMismatch: true });
      return dir;
    }
    throw new ConfigError(`volume ${v.name}: this volume type is not supported by this kubelet`);
  }

  /** The directory of the volume a pod's claim is bound to; a claim not bound yet is VolumeNotReady (retried). */
  private async claimPath(pod: Pod, v: Volume): Promise<string> {
    const ns = pod.metadata.namespace ?? "default";
    const name = v.persistentVolumeClaim!.claimName;
    const claim = await getOr(this.o.store.get<PersistentVolumeClaim>("persistentvolumeclaims", ns, name));
    if (!claim) throw new VolumeNotReady(`persistentvolumeclaim "${name}" not found`);
    if (claim.metadata.deletionTimestamp) throw new VolumeNotReady(`persistentvolumeclaim "${name}" is being deleted`);
    const pvName = claim.spec.volumeName;
    if (!pvName) throw new VolumeNotReady(`persistentvolumeclaim "${name}" is not bound`);
    const pv = await getOr(this.o.store.get<PersistentVolume>("persistentvolumes", undefined, pvName));
    if (!pv) throw new VolumeNotReady(`persistentvolume "${pvName}" not found`);
    if (pv.spec.claimRef?.uid && pv.spec.claimRef.uid !== claim.metadata.uid) throw new VolumeNotReady(`persistentvolume "${pvName}" is bound to another claim`);
    if (pv.spec.hostPath) {
      const p = pv.spec.hostPath.path;
      if ((pv.spec.hostPath.type ?? "") === "DirectoryOrCreate" && !existsSync(p)) mkdirSync(p, { recursive: true, mode: 0o777 });
      if (!existsSync(p)) throw new VolumeNotReady(`persistentvolume "${pvName}": path ${p} does not exist`);
      return p;
    }
    if (pv.spec.local) {
      if (!existsSync(pv.spec.local.path)) throw new VolumeNotReady(`persistentvolume "${pvName}": path ${pv.spec.local.path} does not exist`);
      return pv.spec.local.path;
    }
    throw new ConfigError(`persistentvolume "${pvName}": only hostPath and local volumes can be mounted by this kubelet`);
  }

  /** The container's volumeMounts as host bind mounts (sources exist once this returns). */
  mountsFor(pod: Pod, c: Container, dirs: Map<string, string>): HostMount[] {
    const byName = new Map((pod.spec.volumes ?? []).map((v) => [v.name, v]));
    return (c.volumeMounts ?? []).map((m) => {
      const v = byName.get(m.name);
      const dir = dirs.get(m.name);
      if (!v || !dir) throw new ConfigError(`unable to find volume "${m.name}" for container ${c.name}`);
      const projected = isProjectedKind(v);
      let source = dir;
      if (m.subPath) {
        source = join(dir, safeSubPath(m.subPath));
        if (!existsSync(source)) {
          if (projected) throw new ConfigError(`subPath "${m.subPath}" not found in volume ${m.name}`);
          mkdirSync(source, { recursive: true, mode: 0o777 });
        }
        // A subPath into a configMap/secret is its current file (Kubernetes: it does not follow updates).
        source = realpathSync(source);
        if (!source.startsWith(realpathSync(dir))) throw new ConfigError(`subPath "${m.subPath}" leaves volume ${m.name}`);
      }
      return { source, target: m.mountPath, readOnly: !!m.readOnly || projected || v.persistentVolumeClaim?.readOnly === true };
    });
  }

  /** Unmounts tmpfs volumes and removes the pod's volume directories (hostPaths are left alone). */
  async tearDown(uid: string): Promise<void> {
    this.o.tokens?.forget(uid);
    const base = this.podDir(uid);
    if (!existsSync(base)) return;
    for (const line of (() => {
      try {
        return readFileSync("/proc/self/mountinfo", "utf8").split("\n");
      } catch {
        return [];
      }
    })()) {
      const mp = line.split(" ")[4];
      if (mp && mp.startsWith(`${base}/`)) {
        const r = await this.run("umount", [mp]);
        if (r.code !== 0) await this.run("umount", ["-l", mp]);
      }
    }
    rmSync(base, { recursive: true, force: true });
  }
}
