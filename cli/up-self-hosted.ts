/** `up --self-hosted`: the image (built when missing) and the control plane's manifests (self-hosted.ts). */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { controlPlaneManifests, writeControlPlane } from "./self-hosted.ts";
import { buildImage, DEFAULT_IMAGE } from "./image-build.ts";

export interface PrepareOptions {
  engine: string;
  natsUrl: string;
  cluster: string;
  dataDir: string;
  apiPort: number;
  storeOpts?: Record<string, unknown>;
  image?: string;
  say(s: string): void;
}

function dockerHasImage(tag: string): boolean {
  try {
    execFileSync("docker", ["image", "inspect", tag], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Writes `<data-dir>/manifests/flotilla-*.json`; returns the image the pods run. */
export async function prepareSelfHosted(o: PrepareOptions): Promise<{ image: string; manifests: string }> {
  if (o.engine !== "docker" && o.engine !== "process") {
    throw new Error(`--self-hosted runs the control plane on the docker or process engine, not ${o.engine} (its pods need hostNetwork)`);
  }
  const image = o.image ?? DEFAULT_IMAGE;
  if (o.engine === "docker" && !dockerHasImage(image)) {
    o.say(`  (building ${image}: flotilla image build)`);
    await buildImage({ tag: image });
  }
  const manifests = join(o.dataDir, "manifests");
  writeControlPlane(manifests, controlPlaneManifests({ engine: o.engine, image, natsUrl: o.natsUrl, cluster: o.cluster, dataDir: o.dataDir, apiPort: o.apiPort, storeOpts: o.storeOpts }));
  return { image, manifests };
}
