/**
 * The kubelet's resource usage report, published every few seconds on `…metrics.<node>`
 * (`subjects.nodeMetrics`). Rates are computed by the kubelet from two cumulative samples
 * `windowSeconds` apart, as the kubelet's summary API and metrics-server do: cpu in nanocores,
 * memory as the working set in bytes. The api-server's metrics.k8s.io and the HPA controller read it.
 */
import { ErrorCode, FlotillaError } from "./errors.ts";

export interface Usage {
  cpuNanoCores: number;
  memoryWorkingSetBytes: number;
}

export interface ContainerMetrics extends Usage {
  name: string;
}

export interface PodMetricsReport {
  namespace: string;
  name: string;
  uid: string;
  containers: ContainerMetrics[];
}

export interface NodeMetricsReport {
  type: "node.metrics";
  node: string;
  /** When the newer of the two samples was taken (RFC3339). */
  timestamp: string;
  windowSeconds: number;
  usage: Usage;
  pods: PodMetricsReport[];
}

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === "object" && v !== null && !Array.isArray(v);
const isAmount = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0;
const isName = (v: unknown): v is string => typeof v === "string" && v !== "";
const invalid = (m: string) => new FlotillaError(ErrorCode.Invalid, `metrics report: ${m}`);

function usageOf(r: unknown, what: string): Usage {
  if (!isRec(r) || !isAmount(r.cpuNanoCores) || !isAmount(r.memoryWorkingSetBytes)) throw invalid(`${what} needs cpuNanoCores and memoryWorkingSetBytes (non-negative numbers)`);
  return { cpuNanoCores: r.cpuNanoCores, memoryWorkingSetBytes: r.memoryWorkingSetBytes };
}

/** Decodes a report at the edge; anything malformed is `Invalid`. */
export function decodeNodeMetricsReport(raw: unknown): NodeMetricsReport {
  if (!isRec(raw) || raw.type !== "node.metrics") throw invalid("type must be node.metrics");
  if (!isName(raw.node) || !isName(raw.timestamp) || Number.isNaN(Date.parse(raw.timestamp)) || !isAmount(raw.windowSeconds)) throw invalid("needs node, timestamp and windowSeconds");
  if (!Array.isArray(raw.pods)) throw invalid("pods must be a list");
  const pods = raw.pods.map((p): PodMetricsReport => {
    if (!isRec(p) || !isName(p.namespace) || !isName(p.name) || typeof p.uid !== "string" || !Array.isArray(p.containers)) throw invalid("a pod needs namespace, name, uid and containers");
    return {
      namespace: p.namespace,
      name: p.name,
      uid: p.uid,
      containers: p.containers.map((c) => {
        if (!isRec(c) || !isName(c.name)) throw invalid("a container needs a name");
        return { name: c.name, ...usageOf(c, "a container") };
      }),
    };
  });
  return { type: "node.metrics", node: raw.node, timestamp: raw.timestamp, windowSeconds: raw.windowSeconds, usage: usageOf(raw.usage, "usage"), pods };
}
