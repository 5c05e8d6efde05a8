/**
 * The CRI runtime a node uses: the one at `criSocket` when given (left running when the node
 * stops), else a private containerd under `<dataDir>/containerd` (started here, and stopped with
 * every sandbox removed when the node stops; its image store is kept for the next start).
 *
 * @example
 *   const rt = await criRuntime({ dataDir: "/var/lib/flotilla" });
 *   // kubelet opts: { engine: "cri", criSocket: rt.socket }
 *   await rt.stop();
 */
import type { Logger } from "../../../../runtime/logger.ts";
import { join } from "node:path";
import { startContainerd } from "./containerd-process.ts";

export interface CriRuntime {
  socket: string;
  /** True when this process started it (and so stops it). */
  owned: boolean;
  stop(): Promise<void>;
}

export async function criRuntime(o: { dataDir: string; criSocket?: string; subnet?: string; log?: Logger }): Promise<CriRuntime> {
  if (o.criSocket) return { socket: o.criSocket, owned: false, stop: async () => undefined };
  const c = await startContainerd({ dataDir: join(o.dataDir, "containerd"), subnet: o.subnet, log: o.log });
  return { socket: c.socket, owned: true, stop: () => c.stop() };
}
