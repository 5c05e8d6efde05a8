/**
 * Node registration and heartbeats. `nodeObject` (pure) builds the Node from flags and host facts;
 * `registerNode` creates it or refreshes its status; `LeaseKeeper` renews the Leases
 * `kube-node-lease/<node>` of one or many nodes (batched, bounded concurrency) with CAS.
 */
import type { Node, Lease, Taint, NodeCondition, Labels } from "../../bus/resources.ts";
import type { StoreClient } from "../../bus/store-client.ts";
import type { Logger } from "../../runtime/logger.ts";
import { cpus, totalmem, hostname, release, arch } from "node:os";
import { isCode, ErrorCode } from "../../bus/errors.ts";
import { rfc3339, rfc3339Micro } from "../../bus/time.ts";
import { formatBytes } from "../../bus/quantity.ts";

export const NODE_LEASE_NAMESPACE = "kube-node-lease";

export interface NodeFacts {
  nodeName: string;
  engine: string;
  engineVersion: string;
  /** containerRuntimeVersion as the runtime tells it (`containerd://1.6.20`); else `<engine>://<engineVersion>`. */
  runtimeVersion?: string;
  labels?: Labels;
  taints?: Taint[];
  capacity?: { cpu?: string | number; memory?: string | number; pods?: string | number };
  hostIP: string;
  /** Where the node's pods reach it (the Docker bridge gateway), reported as another InternalIP. */
  podFacingIP?: string;
  kubeletVersion: string;
  /**
   * How the node's pods are networked, when the kubelet was asked for pod networking: `pod` (a
   * namespace and address per pod) or `loopback` (the fallback without root / network namespaces),
   * with why. Shown as the label `flotilla.io/network` and the NetworkUnavailable condition.
   */
  network?: { mode: "pod" | "loopback"; message: string; /** Pod mode: the bridge is not up yet (no podCIDR). */ waiting?: boolean };
}

/** The label naming a node's pod networking mode (`pod` or `loopback`). */
export const NETWORK_LABEL = "flotilla.io/network";

function conditions(now: string, prev?: NodeCondition[], network?: NodeFacts["network"]): NodeCondition[] {
  const c = (type: string, status: "True" | "False", reason: string, message: string): NodeCondition => {
    const old = prev?.find((x) => x.type === type);
    return { type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now };
  };
  return [
    c("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    c("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    c("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    c("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
    // Pods run either way: the loopback fallback is not "unavailable", the message says what it is.
    ...(network
      ? [
          network.waiting
            ? c("NetworkUnavailable", "True", "NoPodCIDR", network.message)
            : c("NetworkUnavailable", "False", network.mode === "pod" ? "PodNetworkReady" : "LoopbackFallback", network.message),
        ]
      : []),
  ];
}

/** The Node as this kubelet reports it (pure apart from reading host facts when no capacity is given). */
export function nodeObject(f: NodeFacts, now: number, prev?: Node): Node {
  const cap = {
    cpu: String(f.capacity?.cpu ?? cpus().length),
    memory: typeof f.capacity?.memory === "number" ? formatBytes(f.capacity.memory) : (f.capacity?.memory ?? formatBytes(Math.floor(totalmem() / 1024) * 1024)),
    pods: String(f.capacity?.pods ?? 110),
  };
  const nowStr = rfc3339(now);
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      ...(prev?.metadata ?? {}),
      name: f.nodeName,
      labels: {
        ...(prev?.metadata.labels ?? {}),
        "kubernetes.io/hostname": f.nodeName,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": arch() === "x64" ? "amd64" : arch(),
        "flotilla.io/engine": f.engine,
        ...(f.network ? { [NETWORK_LABEL]: f.network.mode } : {}),
        ...(f.labels ?? {}),
      },
    },
    spec: prev?.spec ?? { taints: f.taints && f.taints.length ? f.taints : undefined },
    status: {
      capacity: cap,
      allocatable: { ...cap },
      conditions: conditions(nowStr, prev?.status?.conditions, f.network),
      addresses: [
        { type: "InternalIP", address: f.hostIP },
        ...(f.podFacingIP && f.podFacingIP !== f.hostIP ? [{ type: "InternalIP", address: f.podFacingIP }] : []),
        { type: "Hostname", address: f.engine === "simulated" ? f.nodeName : hostname() },
      ],
      nodeInfo: {
        machineID: "",
        systemUUID: "",
        bootID: "",
        kernelVersion: f.engine === "simulated" ? "simulated" : release(),
        osImage: f.engine === "simulated" ? "simulated" : "Linux",
        containerRuntimeVersion: f.runtimeVersion ?? `${f.engine}://${f.engineVersion}`,
        kubeletVersion: f.kubeletVersion,
        kubeProxyVersion: f.kubeletVersion,
        operatingSystem: "linux",
        architecture: arch() === "x64" ? "amd64" : arch(),
      },
      daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
    },
  };
}

/** Creates the Node, or refreshes the status (and our labels) of an existing one. */
export async function registerNode(store: StoreClient, f: NodeFacts, now: number): Promise<Node> {
  try {
    const created = await store.create<Node>("nodes", undefined, nodeObject(f, now));
    return await store.updateStatus<Node>("nodes", { ...created, status: nodeObject(f, now).status });
  } catch (e) {
    // Already registered, or the node controller touched the new Node first: write status on what is there.
    if (!isCode(e, ErrorCode.AlreadyExists) && !isCode(e, ErrorCode.Conflict)) throw e;
  }
  return heartbeatNode(store, f, now);
}

/** Writes the Node status (conditions' lastHeartbeatTime) with CAS; on Conflict re-reads and retries. */
export async function heartbeatNode(store: StoreClient, f: NodeFacts, now: number): Promise<Node> {
  for (let i = 0; ; i++) {
    const prev = await store.get<Node>("nodes", undefined, f.nodeName);
    const want = nodeObject(f, now, prev);
    try {
      let cur = prev;
      if (JSON.stringify(prev.metadata.labels) !== JSON.stringify(want.metadata.labels)) {
        cur = await store.update<Node>("nodes", { ...prev, metadata: { ...prev.metadata, labels: want.metadata.labels } });
      }
      return await store.updateStatus<Node>("nodes", { ...cur, status: want.status });
    } catch (e) {
      if (!isCode(e, ErrorCode.Conflict) || i >= 4) throw e;
    }
  }
}

export function leaseObject(nodeName: string, durationSeconds: number, now: number, prev?: Lease, nodeUid?: string): Lease {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: prev?.metadata ?? {
      name: nodeName,
      namespace: NODE_LEASE_NAMESPACE,
      ownerReferences: nodeUid ? [{ apiVersion: "v1", kind: "Node", name: nodeName, uid: nodeUid }] : undefined,
    },
    spec: {
      holderIdentity: nodeName,
      leaseDurationSeconds: durationSeconds,
      acquireTime: prev?.spec.acquireTime ?? rfc3339Micro(now),
      renewTime: rfc3339Micro(now),
      leaseTransitions: prev?.spec.leaseTransitions ?? 0,
    },
  };
}

/** After a round with a failed renewal, the next round comes this soon (not a whole interval later). */
export const RETRY_AFTER_FAILURE_MS = 500;

/** Renews the Leases of a set of nodes, each at most `concurrency` writes in flight. */
export class LeaseKeeper {
  private readonly leases = new Map<string, { lease?: Lease; nodeUid?: string }>();
  /** Node → when the last successful renewal was sent (its first attempt: never later than the write). */
  private readonly renewed = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly store: StoreClient,
    private readonly o: { durationSeconds: number; renewIntervalMs: number; concurrency?: number; log: Logger; now?: () => number },
  ) {}

  add(nodeName: string, nodeUid?: string): void {
    this.leases.set(nodeName, { nodeUid });
  }
  remove(nodeName: string): void {
    this.leases.delete(nodeName);
  }

  /** When the node's last successful renewal was sent (ms), or -Infinity before the first. */
  renewedAt(nodeName: string): number {
    return this.renewed.get(nodeName) ?? Number.NEGATIVE_INFINITY;
  }

  /**
   * Renews every Lease once now, then every renewIntervalMs; after a round in which a renewal
   * failed, the next round comes RETRY_AFTER_FAILURE_MS later instead. A store that answers again
   * (a stream that elected a new leader) then renews the lease at once, not a whole interval on:
   * the node fences itself when no renewal lands for the lease's duration.
   */
  async start(): Promise<void> {
    let failed = (await this.renewAll()) > 0;
    const tick = () => {
      if (this.stopped) return;
      this.running = this.renewAll()
        .then((n) => void (failed = n > 0))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.nextIn(failed));
        });
    };
    this.timer = setTimeout(tick, this.nextIn(failed));
  }

  private nextIn(failed: boolean): number {
    return failed ? Math.min(RETRY_AFTER_FAILURE_MS, this.o.renewIntervalMs) : this.o.renewIntervalMs;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** Renews every Lease once; resolves to how many renewals failed. */
  async renewAll(): Promise<number> {
    const names = [...this.leases.keys()];
    let i = 0;
    let failed = 0;
    const worker = async () => {
      while (i < names.length && !this.stopped) {
        const n = names[i++]!;
        await this.renew(n).catch((e) => {
          failed++;
          this.o.log.warn("lease renewal failed", { node: n, error: (e as Error).message });
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency ?? 32, names.length) }, worker));
    return failed;
  }

  async renew(nodeName: string): Promise<Lease> {
    const entry = this.leases.get(nodeName) ?? {};
    const now = (this.o.now ?? Date.now)();
    for (let attempt = 0; ; attempt++) {
      try {
        // A renewal may not wait longer than the next one is due: one sent into a NATS restart would
        // otherwise hang for the client's whole timeout and the node would look silent meanwhile.
        const timeoutMs = Math.max(1000, this.o.renewIntervalMs);
        const object = entry.lease ? leaseObject(nodeName, this.o.durationSeconds, now, entry.lease) : leaseObject(nodeName, this.o.durationSeconds, now, undefined, entry.nodeUid);
        const lease = entry.lease
          ? await this.store.send<Lease>({ type: "update", resource: "leases", namespace: NODE_LEASE_NAMESPACE, name: nodeName, object }, timeoutMs)
          : await this.store.send<Lease>({ type: "create", resource: "leases", namespace: NODE_LEASE_NAMESPACE, object }, timeoutMs);
        entry.lease = lease;
        this.leases.set(nodeName, entry);
        this.renewed.set(nodeName, Math.max(now, this.renewed.get(nodeName) ?? now));
        return lease;
      } catch (e) {
        if (attempt >= 3) throw e;
        if (isCode(e, ErrorCode.Conflict) || isCode(e, ErrorCode.AlreadyExists)) {
          entry.lease = await this.store.get<Lease>("leases", NODE_LEASE_NAMESPACE, nodeName);
        } else if (isCode(e, ErrorCode.NotFound) && entry.lease) {
          entry.lease = undefined;
        } else if (isCode(e, ErrorCode.NotFound)) {
          await this.store.create("namespaces", undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: NODE_LEASE_NAMESPACE } }).catch(() => undefined);
        } else throw e;
      }
    }
  }
}
