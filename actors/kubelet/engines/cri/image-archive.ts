/**
 * The cri engine's images without any registry: a `docker save`-format archive (manifest.json, one
 * config per image, one shared layer.tar) holding the busybox test image and a pause image (the
 * same rootfs, `sleep` as its command), imported into containerd's `k8s.io` namespace with
 * `ctr images import` (docs/kubelet.md says why ctr). Needs neither Docker nor network.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { writeBusyboxRootfs, BUSYBOX_IMAGE } from "../busybox-image.ts";

export { BUSYBOX_IMAGE };
export const PAUSE_IMAGE = "flotilla-pause:latest";

/** Image tag → the process its config names (Cmd) when a container gives none. */
const IMAGES: Record<string, string[] | undefined> = {
  [BUSYBOX_IMAGE]: undefined,
  [PAUSE_IMAGE]: ["/bin/sleep", "2147483647"],
};

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** Writes the archive to `file` (a tar in `docker save` layout) for every tag in IMAGES. */
export function writeImageArchive(file: string): void {
  const dir = mkdtempSync(join(tmpdir(), "flotilla-images-"));
  try {
    const rootfs = join(dir, "rootfs");
    mkdirSync(rootfs);
    writeBusyboxRootfs(rootfs);
    writeRootfsArchive(rootfs, file, Object.entries(IMAGES).map(([tag, cmd]) => ({ tag, cmd, env: ["PATH=/bin"] })));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One image of a rootfs archive: its tag and the config's Cmd / Entrypoint / Env. */
export interface ArchiveImage {
  tag: string;
  cmd?: string[];
  entrypoint?: string[];
  env?: string[];
}

/** Writes `rootfs` as a one-layer image archive in `docker save` layout, with one config per tag. */
export function writeRootfsArchive(rootfs: string, file: string, images: ArchiveImage[]): void {
  const dir = mkdtempSync(join(tmpdir(), "flotilla-archive-"));
  try {
    const out = join(dir, "archive");
    mkdirSync(out);
    const layer = join(dir, "layer.tar");
    execFileSync("tar", ["--numeric-owner", "--owner=0", "--group=0", "-C", rootfs, "-cf", layer, "."]);
    const diffId = sha256(readFileSync(layer));
    mkdirSync(join(out, diffId));
    execFileSync("mv", [layer, join(out, diffId, "layer.tar")]);
    const manifest = images.map(({ tag, cmd, entrypoint, env }) => {
      const config = JSON.stringify({
        architecture: process.arch === "x64" ? "amd64" : process.arch,
        os: "linux",
        created: "2024-01-01T00:00:00Z",
        config: { Env: env ?? ["PATH=/bin"], ...(entrypoint ? { Entrypoint: entrypoint } : {}), ...(cmd ? { Cmd: cmd } : {}) },
        rootfs: { type: "layers", diff_ids: [`sha256:${diffId}`] },
        history: [{ created: "2024-01-01T00:00:00Z", created_by: "flotilla rootfs" }],
      });
      const name = `${sha256(config)}.json`;
      writeFileSync(join(out, name), config);
      return { Config: name, RepoTags: [tag], Layers: [`${diffId}/layer.tar`] };
    });
    writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest));
    execFileSync("tar", ["-C", out, "-cf", file, "."]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Imports an image archive into the containerd at `socket`, namespace k8s.io (what the CRI plugin serves). */
export function importArchive(socket: string, file: string): void {
  execFileSync("ctr", ["--address", socket, "--namespace", "k8s.io", "images", "import", file], { stdio: ["ignore", "ignore", "pipe"] });
}

/** Imports the archive into the containerd at `socket`, namespace k8s.io (unpacked for overlayfs). */
export function importImages(socket: string): void {
  const dir = mkdtempSync(join(tmpdir(), "flotilla-images-"));
  try {
    const file = join(dir, "images.tar");
    writeImageArchive(file);
    importArchive(socket, file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
