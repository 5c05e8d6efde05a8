/**
 * `flotilla image build`: the `flotilla` image, made from this checkout and the Node.js binary
 * running it, with no registry and no base image:
 *
 *   /usr/local/bin/node           the running node (process.execPath) and the shared libraries
 *                                 `ldd` lists for it, at their own paths
 *   /app/dist/flotilla.mjs        cli/main.ts bundled by esbuild (every npm dependency inlined:
 *                                 no node_modules, no tsx at run time)
 *   /app/dist/api.proto           what the cri engine's gRPC client loads next to its code
 *   /ui/dist/…                    the dashboard (where the bundle looks for it), when built
 *   /bin/busybox + applets        a shell for `kubectl exec` and exec probes (busybox-static)
 *
 * The rootfs goes to Docker with `docker import` and to containerd through the cri engine's import
 * path (a `docker save`-format archive, `ctr -n k8s.io images import`).
 *
 * @example
 *   const r = await buildImage({ tag: "flotilla:0.1.0", docker: true });
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, cpSync, realpathSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { VERSION } from "../runtime/actor.ts";
import { writeBusyboxRootfs } from "../actors/kubelet/engines/busybox-image.ts";
import { writeRootfsArchive, importArchive } from "../actors/kubelet/engines/cri/image-archive.ts";

/** The checkout this CLI runs from. */
export const CHECKOUT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const DEFAULT_IMAGE = `flotilla:${VERSION}`;
/** How a container of the image runs the CLI. */
export const IMAGE_NODE = "/usr/local/bin/node";
export const IMAGE_CLI = "/app/dist/flotilla.mjs";
const ENV = ["PATH=/usr/local/bin:/bin", "NODE_ENV=production"];

export interface BuildImageOptions {
  tag?: string;
  /** `docker import` it (default true). */
  docker?: boolean;
  /** Import it into the containerd at this socket as well (namespace k8s.io). */
  criSocket?: string;
  /** Keep the image archive (docker save layout) here. */
  archive?: string;
  dockerHost?: string;
}

export interface BuiltImage {
  tag: string;
  /** Bytes of the rootfs (uncompressed). */
  bytes: number;
  files: { node: string; bundleBytes: number; libraries: string[] };
}

/** The shared libraries the dynamic linker loads for `binary` (`ldd`), with the loader itself. */
export function sharedLibraries(lddOutput: string): string[] {
  const out = new Set<string>();
  for (const line of lddOutput.split("\n")) {
    const arrow = /=>\s+(\/\S+)/.exec(line);
    const bare = /^\s*(\/\S+)\s+\(/.exec(line);
    const p = arrow?.[1] ?? bare?.[1];
    if (p) out.add(p);
  }
  return [...out];
}

function duBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += duBytes(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

/** Bundles cli/main.ts into one ES module (esbuild, from the checkout's devDependencies). */
async function bundle(outfile: string): Promise<void> {
  const esbuild = await import("esbuild");
  await esbuild.build({
    entryPoints: [join(CHECKOUT, "cli", "main.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile,
    // Optional native add-ons of ssh2 (dockerode's ssh transport): loaded in a try, absent here.
    external: ["*.node"],
    // CommonJS dependencies call require() and read __dirname: give the ES module both.
    banner: {
      js: [
        "import { createRequire as __flotillaRequire } from 'node:module';",
        "import { fileURLToPath as __flotillaPath } from 'node:url';",
        "const require = __flotillaRequire(import.meta.url);",
        "const __filename = __flotillaPath(import.meta.url);",
        "const __dirname = __flotillaPath(new URL('.', import.meta.url));",
      ].join(" "),
    },
    logLevel: "error",
  });
}

/** Fills `root` with the image's filesystem. */
export async function writeFlotillaRootfs(root: string): Promise<BuiltImage["files"]> {
  writeBusyboxRootfs(root);
  const node = realpathSync(process.execPath);
  mkdirSync(join(root, "usr", "local", "bin"), { recursive: true });
  copyFileSync(node, join(root, IMAGE_NODE));
  chmodSync(join(root, IMAGE_NODE), 0o755);
  const libraries = sharedLibraries(execFileSync("ldd", [node], { encoding: "utf8" }));
  for (const lib of libraries) {
    mkdirSync(join(root, dirname(lib)), { recursive: true });
    copyFileSync(realpathSync(lib), join(root, lib));
  }
  mkdirSync(join(root, "app", "dist"), { recursive: true });
  await bundle(join(root, IMAGE_CLI));
  copyFileSync(join(CHECKOUT, "actors", "kubelet", "engines", "cri", "api.proto"), join(root, "app", "dist", "api.proto"));
  const ui = join(CHECKOUT, "ui", "dist");
  if (existsSync(ui)) cpSync(ui, join(root, "ui", "dist"), { recursive: true });
  return { node, bundleBytes: statSync(join(root, IMAGE_CLI)).size, libraries };
}

export async function buildImage(o: BuildImageOptions = {}): Promise<BuiltImage> {
  const tag = o.tag ?? DEFAULT_IMAGE;
  const dir = mkdtempSync(join(tmpdir(), "flotilla-image-"));
  try {
    const root = join(dir, "rootfs");
    mkdirSync(root);
    const files = await writeFlotillaRootfs(root);
    const bytes = duBytes(root);
    if (o.docker ?? true) {
      const env = o.dockerHost ? { ...process.env, DOCKER_HOST: o.dockerHost } : process.env;
      const changes = [...ENV.map((e) => `ENV ${e}`), `ENTRYPOINT ["${IMAGE_NODE}", "${IMAGE_CLI}"]`].flatMap((c) => ["-c", c]);
      const tar = join(dir, "rootfs.tar");
      execFileSync("tar", ["--numeric-owner", "--owner=0", "--group=0", "-C", root, "-cf", tar, "."]);
      execFileSync("docker", ["import", ...changes, tar, tag], { stdio: ["ignore", "ignore", "pipe"], env });
      rmSync(tar, { force: true });
    }
    if (o.criSocket || o.archive) {
      const file = o.archive ?? join(dir, "image.tar");
      writeRootfsArchive(root, file, [{ tag, env: ENV, entrypoint: [IMAGE_NODE, IMAGE_CLI] }]);
      if (o.criSocket) importArchive(o.criSocket, file);
    }
    return { tag, bytes, files };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
