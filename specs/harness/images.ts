/** Local test images for Docker specs (no registry is reachable): see actors/kubelet/engines/busybox-image.ts. */
import { ensureBusyboxImageSync, BUSYBOX_IMAGE } from "../../actors/kubelet/engines/busybox-image.ts";

export { BUSYBOX_IMAGE };

export async function ensureBusyboxImage(tag = BUSYBOX_IMAGE): Promise<string> {
  return ensureBusyboxImageSync(tag);
}
