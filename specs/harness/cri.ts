/**
 * A private containerd for specs that run kubelets on the cri engine: started in a `before` hook
 * (skipped outside CI, failed under CI, when containerd or the CNI plugins are missing), in a
 * directory of its own (not under an api env's dir, which goes away before containerd stops), on a
 * pod subnet the spec chooses. `stop()` removes every sandbox, stops containerd and its shims and
 * deletes its directory: nothing is left behind.
 *
 * @example
 *   let ctrd: SpecContainerd | undefined;
 *   before(async function () { ctrd = await specContainerd(this, "10.88.251.0/24"); });
 *   after(async () => ctrd?.stop());
 *   // kubelet opts: { engine: "cri", criSocket: ctrd.socket, … }
 */
import type { Context } from "mocha";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireContainerd } from "./optional.ts";
import { startContainerd } from "../../actors/kubelet/engines/cri/containerd-process.ts";

export interface SpecContainerd {
  socket: string;
  stop(): Promise<void>;
}

export async function specContainerd(ctx: Context, subnet: string): Promise<SpecContainerd> {
  requireContainerd(ctx);
  ctx.timeout(Math.max(ctx.timeout(), 120_000));
  const dir = mkdtempSync(join(tmpdir(), "flotilla-spec-ctrd-"));
  try {
    const c = await startContainerd({ dataDir: join(dir, "containerd"), subnet });
    return {
      socket: c.socket,
      async stop() {
        await c.stop({ removeData: true });
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** The kubelet options that put a node on the cri engine (none for the other engines). */
export const criOpts = (engine: string, ctrd: SpecContainerd | undefined) => (engine === "cri" ? { criSocket: ctrd!.socket } : {});
