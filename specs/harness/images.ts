/** Local test images for Docker specs (no registry is reachable): see actors/kubelet/engines/busybox-image.ts. */
import { ensureBusyboxImageSync, BUSYBOX_IMAGE } from "../../actors/kubelet/engines/busybox-image.ts";

export { BUSYBOX_IMAGE };

export async function ensureBusyboxImage(tag = BUSYBOX_IMAGE): Promise<string> {
  return ensureBusyboxImageSync(tag);
}

/**
 * In a `before` hook of a spec that needs an engine's images: makes the local busybox image for
 * the docker engine. Without a Docker engine the spec is skipped, except under CI, where nothing
 * may skip and it fails instead.
 */
export async function needEngineImages(ctx: Mocha.Context, engine: string): Promise<void> {
  if (engine !== "docker") return;
  try {
    await ensureBusyboxImage();
  } catch (e) {
    if (process.env.CI) throw new Error(`the Docker engine is required under CI: ${(e as Error).message}`);
    ctx.skip();
  }
}
