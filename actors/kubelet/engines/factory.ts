/** Builds the engine a kubelet was asked for. */
import type { Engine, EngineName } from "./types.ts";
import type { Logger } from "../../../runtime/logger.ts";
import { SimulatedEngine } from "./simulated.ts";
import { ProcessEngine } from "./process.ts";
import { DockerEngine } from "./docker.ts";
import type { ProcessPodNetwork } from "./process-netns.ts";
import type { DockerPodNetwork } from "./docker-network.ts";
import { CriEngine } from "./cri.ts";

export interface EngineOptions {
  engine: EngineName;
  cluster: string;
  nodeName: string;
  dataDir?: string;
  startLatencyMs?: number;
  nodeIndex?: number;
  dockerSocket?: string;
  sandboxImage?: string;
  /** Docker engine: sandboxes and containers created and started at once (default: the engine's best measured level). */
  dockerStartConcurrency?: number;
  /** The CRI runtime's socket (engine "cri"). */
  criSocket?: string;
  log?: Logger;
  /** Process engine: pods in network namespaces of their own. */
  network?: ProcessPodNetwork;
  /** Docker engine: sandboxes on the node's bridge network (its podCIDR). */
  dockerNetwork?: DockerPodNetwork;
}

export function createEngine(o: EngineOptions): Engine {
  switch (o.engine) {
    case "simulated":
      return new SimulatedEngine({ startLatencyMs: o.startLatencyMs, nodeIndex: o.nodeIndex });
    case "process":
      return new ProcessEngine({ dataDir: o.dataDir, cluster: o.cluster, nodeName: o.nodeName, log: o.log, network: o.network });
    case "docker":
      return new DockerEngine({ cluster: o.cluster, nodeName: o.nodeName, socketPath: o.dockerSocket, sandboxImage: o.sandboxImage, network: o.dockerNetwork, startConcurrency: o.dockerStartConcurrency });
    case "cri":
      if (!o.criSocket) throw new Error("the cri engine needs a CRI socket (criSocket / --cri-socket)");
      return new CriEngine({ cluster: o.cluster, nodeName: o.nodeName, socketPath: o.criSocket, dataDir: o.dataDir, log: o.log });
  }
}
