/**
 * A tiny local image made without any registry: `docker import` of a rootfs holding the host's
 * static busybox (Debian `busybox-static`) and a symlink per applet (sh, sleep, httpd, nc, wget, …).
 * The docker engine uses it as the pod sandbox image; specs use it as their test image.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, copyFileSync, symlinkSync, rmSync, writeFileSync, existsSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";

export const BUSYBOX_IMAGE = "flotilla-busybox:latest";
const BUSYBOX_CANDIDATES = ["/bin/busybox", "/usr/bin/busybox"];

function imageExists(tag: string, env: NodeJS.ProcessEnv): boolean {
  try {
    execFileSync("docker", ["image", "inspect", tag], { stdio: "ignore", env });
    return true;
  } catch {
    return false;
  }
}

/**
 * Fills `root` with the image's filesystem: the static busybox, one symlink per applet, /etc/passwd
 * and /etc/group. Throws when busybox is missing. Also used by the cri engine's image archive.
 */
export function writeBusyboxRootfs(root: string): void {
  const busybox = BUSYBOX_CANDIDATES.find((p) => existsSync(p));
  if (!busybox) throw new Error("busybox not found: install busybox-static (apt-get install busybox-static)");
  for (const d of ["bin", "tmp", "etc", "proc", "sys", "dev", "www", "root"]) mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, "tmp"), 0o1777);
  copyFileSync(busybox, join(root, "bin", "busybox"));
  chmodSync(join(root, "bin", "busybox"), 0o755);
  const applets = execFileSync(busybox, ["--list"], { encoding: "utf8" }).split("\n").filter((a) => a && a !== "busybox");
  for (const a of applets) symlinkSync("busybox", join(root, "bin", a));
  writeFileSync(join(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
  writeFileSync(join(root, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
}

/** Builds (once) and returns the tag of the busybox image. Throws when docker or busybox is missing. */
export function ensureBusyboxImageSync(tag = BUSYBOX_IMAGE, dockerHost?: string): string {
  const env = dockerHost ? { ...process.env, DOCKER_HOST: dockerHost } : process.env;
  if (imageExists(tag, env)) return tag;
  const root = mkdtempSync(join(tmpdir(), "flotilla-rootfs-"));
  try {
    writeBusyboxRootfs(root);
    execFileSync("sh", ["-c", `tar -C "${root}" -cf - . | docker import -c 'ENV PATH=/bin' - "${tag}"`], { stdio: ["ignore", "ignore", "pipe"], env });
    return tag;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
