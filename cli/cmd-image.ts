/** `flotilla image build`: the `flotilla` image from this checkout (cli/image-build.ts). */
import type { Command } from "commander";
import { resolve } from "node:path";

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

export function registerImage(program: Command): void {
  const image = program.command("image").description("images of Flotilla itself");
  image
    .command("build")
    .description("build the `flotilla` image (this checkout bundled + the local Node.js) with `docker import`, no registry and no base image")
    .option("--tag <tag>", "image tag (default: flotilla:<version>)")
    .option("--no-docker", "do not import it into Docker")
    .option("--cri-socket <path>", "also import it into the containerd (CRI) at this socket, namespace k8s.io")
    .option("--archive <file>", "also write it as a `docker save`-format archive")
    .action(async (o: { tag?: string; docker: boolean; criSocket?: string; archive?: string }) => {
      const { buildImage } = await import("./image-build.ts");
      const t0 = Date.now();
      const r = await buildImage({ tag: o.tag, docker: o.docker, criSocket: o.criSocket ? resolve(o.criSocket) : undefined, archive: o.archive ? resolve(o.archive) : undefined });
      const where = [o.docker ? "Docker" : "", o.criSocket ? "containerd" : "", o.archive ? resolve(o.archive) : ""].filter(Boolean).join(", ");
      process.stdout.write(`built ${r.tag} (${mb(r.bytes)} uncompressed: node ${r.files.node}, bundle ${mb(r.files.bundleBytes)}, ${r.files.libraries.length} libraries) into ${where || "nowhere"} in ${Date.now() - t0} ms\n`);
    });
}
