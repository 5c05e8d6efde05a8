/** Builds the engine a kubelet was asked for. */
import type { Engine, EngineName } from "./types.ts";
import type { Logger } from "../../../runtime/logger.ts";
import { SimulatedEngine } from "./simulated.ts";
import { ProcessEngine } from "./process.ts";
import { DockerEngine } from "./docker.ts";
import type { ProcessPodNetwork } from "./process-netns.ts";

export interface EngineOptions {
  engine: EngineName;
  cluster: string;
  nodeName: string;
  dataDir?: string;
  startLatencyMs?: number;
  nodeIndex?: number;
  dockerSocket?: string;
  sandboxImage?: string;
  log?: Logger;
  /** Process engine: pods in network namespaces of their own. */
  network?: ProcessPodNetwork;
}

export function createEngine(o: EngineOptions): Engine {
  switch (o.engine) {
    case "simulated":
      return new SimulatedEngine({ startLatencyMs: o.startLatencyMs, nodeIndex: o.nodeIndex });
    case "process":
      return new ProcessEngine({ dataDir: o.dataDir, cluster: o.cluster, nodeName: o.nodeName, log: o.log, network: o.network });
    case "docker":
      return new DockerEngine({ cluster: o.cluster, nodeName: o.nodeName, socketPath: o.dockerSocket, sandboxImage: o.sandboxImage });
  }
}
