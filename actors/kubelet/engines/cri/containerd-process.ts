/**
 * A private containerd for the cri engine: its own root, state dir, socket and config (CRI plugin on,
 * the pause image imported locally, CNI bridge + host-local + portmap from /usr/lib/cni with a conf
 * written here), so it never meets Docker's containerd or another cluster's. `stop()` removes every
 * pod sandbox it holds (which stops their shims and frees their network namespaces), stops
 * containerd, kills any shim left over, deletes the CNI bridge and unmounts what is left under its
 * directories.
 *
 * @example
 *   const ctrd = await startContainerd({ dataDir: "/var/lib/flotilla/containerd", subnet: "10.88.0.0/16" });
 *   // … engine: "cri", criSocket: ctrd.socket …
 *   await ctrd.stop({ removeData: true });
 */
import type { Logger } from "../../../../runtime/logger.ts";
import { spawn, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync, readFileSync, readdirSync, rmSync, existsSync, openSync, closeSync } from "node:fs";
import { join, resolve } from "node:path";
import { CriClient } from "./client.ts";
import { importImages, PAUSE_IMAGE } from "./image-archive.ts";

export const CNI_BIN_DIR = "/usr/lib/cni";
export const DEFAULT_POD_SUBNET = "10.88.0.0/16";

export interface ContainerdOptions {
  /** Everything lives under it: root/, state/, containerd.sock, config.toml, cni/, containerd.log. */
  dataDir: string;
  /** The pods' subnet (host-local IPAM); the node's podCIDR when it has one. */
  subnet?: string;
  /** The Linux bridge the pods attach to (at most 15 characters); derived from dataDir by default. */
  bridge?: string;
  log?: Logger;
  /** How long to wait for the socket to answer Version. */
  startTimeoutMs?: number;
}

export interface PrivateContainerd {
  socket: string;
  dataDir: string;
  bridge: string;
  pid: number;
  stop(o?: { removeData?: boolean }): Promise<void>;
}

/** A bridge name from the data dir: stable for one dir, distinct between dirs, ≤ 15 characters. */
export function bridgeNameFor(dataDir: string): string {
  return `flcri${createHash("sha256").update(resolve(dataDir)).digest("hex").slice(0, 8)}`;
}

/** containerd's config (TOML, version 2) for a private instance under `dir`. */
export function containerdConfig(dir: string, netDir: string): string {
  const q = (s: string) => JSON.stringify(s);
  return `version = 2
root = ${q(join(dir, "root"))}
state = ${q(join(dir, "state"))}
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = ${q(join(dir, "containerd.sock"))}

[ttrpc]
  address = ${q(join(dir, "containerd.sock.ttrpc"))}

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = ${q(join(dir, "opt"))}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${q(PAUSE_IMAGE)}
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  netns_mounts_under_state_dir = true
  enable_selinux = false
  disable_apparmor = true
  # Without CAP_SYS_RESOURCE (containers as hosts) a negative oom_score_adj is refused: clamp it.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${q(CNI_BIN_DIR)}
    conf_dir = ${q(netDir)}
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = ${q(join(dir, "runc"))}
        SystemdCgroup = false
`;
}

/** The CNI network: a bridge with host-local addresses (no masquerade: pods reach only this host and each other), and portmap. */
export function cniConflist(name: string, bridge: string, subnet: string, ipamDir: string): string {
  return JSON.stringify(
    {
      cniVersion: "0.4.0",
      name,
      plugins: [
        { type: "bridge", bridge, isGateway: true, ipMasq: false, hairpinMode: true, ipam: { type: "host-local", ranges: [[{ subnet }]], routes: [{ dst: subnet }], dataDir: ipamDir } },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

/** Starts containerd, waits until it answers CRI Version, imports the local images. */
export async function startContainerd(o: ContainerdOptions): Promise<PrivateContainerd> {
  const dir = resolve(o.dataDir);
  const socket = join(dir, "containerd.sock");
  const bridge = o.bridge ?? bridgeNameFor(dir);
  const netDir = join(dir, "cni", "net.d");
  for (const d of [join(dir, "root"), join(dir, "state"), join(dir, "opt"), netDir, join(dir, "cni", "ipam")]) mkdirSync(d, { recursive: true });
  writeFileSync(join(netDir, "10-flotilla.conflist"), cniConflist(`flotilla-${bridge}`, bridge, o.subnet ?? DEFAULT_POD_SUBNET, join(dir, "cni", "ipam")));
  const config = join(dir, "config.toml");
  writeFileSync(config, containerdConfig(dir, netDir));
  rmSync(socket, { force: true });
  const logFd = openSync(join(dir, "containerd.log"), "a");
  const child = spawn("containerd", ["--config", config], { stdio: ["ignore", logFd, logFd], detached: true });
  closeSync(logFd);
  let exited: string | undefined;
  const exit = new Promise<void>((r) => child.once("exit", (code, sig) => ((exited = `containerd exited (${sig ?? code}); see ${join(dir, "containerd.log")}`), r())));
  child.once("error", (e) => (exited = e.message));
  const cri = new CriClient(socket);
  try {
    const deadline = Date.now() + (o.startTimeoutMs ?? 30_000);
    for (;;) {
      if (exited) throw new Error(exited);
      if (existsSync(socket) && (await cri.runtime("Version", {}, 2_000).then(() => true, () => false))) break;
      if (Date.now() > deadline) throw new Error(`containerd did not answer on ${socket}; see ${join(dir, "containerd.log")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const have = await cri.image("ImageStatus", { image: { image: PAUSE_IMAGE } });
    if (!have.image) importImages(socket);
  } catch (e) {
    cri.close();
    await stopProcess(child.pid!, exit);
    throw e;
  }
  o.log?.info("private containerd started", { socket, pid: child.pid });
  let stopping: Promise<void> | undefined;
  return {
    socket,
    dataDir: dir,
    bridge,
    pid: child.pid!,
    stop(so = {}) {
      stopping ??= (async () => {
        await removeAllSandboxes(cri).catch((e) => o.log?.warn("removing sandboxes failed", { error: (e as Error).message }));
        cri.close();
        await stopProcess(child.pid!, exit);
        killShims(socket);
        execQuiet("ip", ["link", "del", bridge]);
        unmountUnder(dir);
        if (so.removeData) rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

async function removeAllSandboxes(cri: CriClient): Promise<void> {
  const { items } = await cri.runtime("ListPodSandbox", {}, 10_000);
  for (const s of items) {
    await cri.runtime("StopPodSandbox", { pod_sandbox_id: s.id }).catch(() => undefined);
    await cri.runtime("RemovePodSandbox", { pod_sandbox_id: s.id }).catch(() => undefined);
  }
}

async function stopProcess(pid: number, exit: Promise<void>): Promise<void> {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const killed = await Promise.race([exit.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000).unref())]);
  if (!killed) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
    await exit;
  }
}

/** Shims are their own processes (they outlive containerd by design): kill the ones serving this socket. */
export function killShims(socket: string): void {
  for (const pid of shimPids(socket)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
}

/** The containerd-shim-runc-v2 processes serving the containerd at `socket`. */
export function shimPids(socket: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    let cmd: string[];
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    if (!cmd[0]?.endsWith("containerd-shim-runc-v2")) continue;
    const i = cmd.indexOf("-address");
    if (i >= 0 && cmd[i + 1] === socket) out.push(Number(pid));
  }
  return out;
}

/** Unmounts (lazily, deepest first) every mount point under `dir`: rootfs overlays, netns, shm. */
export function unmountUnder(dir: string): void {
  const points = readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[1]?.replace(/\\040/g, " ") ?? "")
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const p of points) execQuiet("umount", ["-l", p]);
}

function execQuiet(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: "ignore" });
  } catch {
    /* nothing to undo */
  }
}
