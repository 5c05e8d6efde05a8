/**
 * Per-resource Table columns and cells, as kube-apiserver's printers produce them
 * (kubernetes pkg/printers/internalversion/printers.go, 1.32). Wide columns (priority 1) are
 * always filled; kubectl hides them unless `-o wide`.
 */
import type {
  ConfigMap,
  ContainerStatus,
  Deployment,
  Endpoints,
  Event,
  KubeObject,
  Lease,
  Namespace,
  Node,
  Pod,
  ReplicaSet,
  ReplicationController,
  Secret,
  Service,
} from "../../bus/resources.ts";
import { selectorToString } from "../../bus/selectors.ts";
import { ageOf } from "./human-duration.ts";

export type { Cell, TableColumnDefinition, TableRowCondition, Printer } from "./table-kit.ts";
import type { Printer } from "./table-kit.ts";
import { col, wide, NAME, AGE, CONTAINERS, IMAGES, SELECTOR, age, orNone, formatLabels, containerCells } from "./table-kit.ts";
import { WORKLOAD_PRINTERS } from "./table-printers-workloads.ts";
import { RBAC_PRINTERS } from "./table-printers-rbac.ts";
import { POLICY_PRINTERS } from "./table-printers-policy.ts";
import { STORAGE_PRINTERS } from "./table-printers-storage.ts";
import { AUTOSCALING_PRINTERS } from "./table-printers-autoscaling.ts";
import { NETWORKING_PRINTERS } from "./table-printers-networking.ts";

// ---------- pods ----------
const isRestartableInit = (p: Pod, name: string) =>
  (p.spec.initContainers ?? []).some((c) => c.name === name && (c as { restartPolicy?: string }).restartPolicy === "Always");
const finishedAt = (c: ContainerStatus) => c.lastState?.terminated?.finishedAt;
const later = (a: string | undefined, b: string | undefined) => (!a ? b : !b ? a : Date.parse(b) > Date.parse(a) ? b : a);

/** printPod: Ready, Status (reason), Restarts and the time of the last restart. */
export function podSummary(p: Pod, now: Date): { ready: string; status: string; restarts: string } {
  const st = p.status ?? {};
  const initSpecs = p.spec.initContainers ?? [];
  const total = p.spec.containers.length + initSpecs.filter((c) => isRestartableInit(p, c.name)).length;
  let ready = 0;
  let reason: string = st.reason || st.phase || "";
  if ((st.conditions ?? []).some((c) => c.type === "PodScheduled" && c.reason === "SchedulingGated")) reason = "SchedulingGated";

  let restarts = 0;
  let lastRestart: string | undefined;
  let sidecarRestarts = 0;
  let sidecarLastRestart: string | undefined;
  let initializing = false;
  const inits = st.initContainerStatuses ?? [];
  for (let i = 0; i < inits.length; i++) {
    const c = inits[i]!;
    const sidecar = isRestartableInit(p, c.name);
    restarts += c.restartCount;
    lastRestart = later(lastRestart, finishedAt(c));
    if (sidecar) {
      sidecarRestarts += c.restartCount;
      sidecarLastRestart = later(sidecarLastRestart, finishedAt(c));
    }
    const term = c.state?.terminated;
    const waiting = c.state?.waiting;
    if (term && term.exitCode === 0) continue;
    if (sidecar && c.started) {
      if (c.ready) ready++;
      continue;
    }
    if (term) reason = term.reason ? `Init:${term.reason}` : term.signal ? `Init:Signal:${term.signal}` : `Init:ExitCode:${term.exitCode}`;
    else if (waiting?.reason && waiting.reason !== "PodInitializing") reason = `Init:${waiting.reason}`;
    else reason = `Init:${i}/${initSpecs.length}`;
    initializing = true;
    break;
  }

  const initialized = (st.conditions ?? []).some((c) => c.type === "Initialized" && c.status === "True");
  if (!initializing || initialized) {
    restarts = sidecarRestarts;
    lastRestart = sidecarLastRestart;
    let hasRunning = false;
    const cs = st.containerStatuses ?? [];
    for (let i = cs.length - 1; i >= 0; i--) {
      const c = cs[i]!;
      restarts += c.restartCount;
      lastRestart = later(lastRestart, finishedAt(c));
      const term = c.state?.terminated;
      if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
      else if (term?.reason) reason = term.reason;
      else if (term) reason = term.signal ? `Signal:${term.signal}` : `ExitCode:${term.exitCode}`;
      else if (c.ready && c.state?.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === "Completed" && hasRunning) {
      reason = (st.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True") ? "Running" : "NotReady";
    }
  }

  if (p.metadata.deletionTimestamp && st.reason === "NodeLost") reason = "Unknown";
  else if (p.metadata.deletionTimestamp && st.phase !== "Succeeded" && st.phase !== "Failed") reason = "Terminating";

  const restartText = restarts !== 0 && lastRestart ? `${restarts} (${ageOf(lastRestart, now)} ago)` : String(restarts);
  return { ready: `${ready}/${total}`, status: reason, restarts: restartText };
}

const pods: Printer = {
  columns: [
    NAME,
    col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    col("Status", "The aggregate status of the containers in this pod."),
    col("Restarts", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
    AGE,
    col("IP", "IP address allocated to the pod.", wide),
    col("Node", "The node the pod is bound to.", wide),
    col("Nominated Node", "The node this pod is nominated to run on after preemption.", wide),
    col("Readiness Gates", "Readiness gates of the pod.", wide),
  ],
  cells(o, now) {
    const p = o as Pod;
    const s = podSummary(p, now);
    const gates = (p.spec as { readinessGates?: { conditionType: string }[] }).readinessGates ?? [];
    const trueGates = gates.filter((g) => (p.status?.conditions ?? []).find((c) => c.type === g.conditionType)?.status === "True").length;
    return [
      p.metadata.name ?? "",
      s.ready,
      s.status,
      s.restarts,
      age(p, now),
      orNone(p.status?.podIPs?.[0]?.ip),
      orNone(p.spec.nodeName),
      orNone(p.status?.nominatedNodeName),
      gates.length ? `${trueGates}/${gates.length}` : "<none>",
    ];
  },
  conditions(o) {
    const phase = (o as Pod).status?.phase;
    if (phase === "Succeeded") return [{ type: "Completed", status: "True", reason: "Succeeded", message: "The pod has completed successfully." }];
    if (phase === "Failed") return [{ type: "Completed", status: "True", reason: "Failed", message: "The pod failed." }];
    return undefined;
  },
};

// ---------- nodes ----------
const ROLE_PREFIX = "node-role.kubernetes.io/";
function nodeRoles(n: Node): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(n.metadata.labels ?? {})) {
    if (k.startsWith(ROLE_PREFIX) && k.length > ROLE_PREFIX.length) roles.add(k.slice(ROLE_PREFIX.length));
    else if (k === "kubernetes.io/role" && v) roles.add(v);
  }
  return orNone([...roles].sort().join(","));
}
const nodeAddress = (n: Node, type: string) => orNone(n.status?.addresses?.find((a) => a.type === type)?.address);
const nodes: Printer = {
  columns: [
    NAME,
    col("Status", "The status of the node"),
    col("Roles", "The roles of the node"),
    AGE,
    col("Version", "Kubelet Version reported by the node."),
    col("Internal-IP", "List of addresses reachable to the node.", wide),
    col("External-IP", "List of addresses reachable to the node.", wide),
    col("OS-Image", "OS Image reported by the node from /etc/os-release.", wide),
    col("Kernel-Version", "Kernel Version reported by the node.", wide),
    col("Container-Runtime", "Container Runtime Version reported by the node.", wide),
  ],
  cells(o, now) {
    const n = o as Node;
    const ready = n.status?.conditions?.find((c) => c.type === "Ready");
    const status = [ready ? (ready.status === "True" ? "Ready" : "NotReady") : "Unknown"];
    if (n.spec?.unschedulable) status.push("SchedulingDisabled");
    const info = n.status?.nodeInfo;
    return [
      n.metadata.name ?? "",
      status.join(","),
      nodeRoles(n),
      age(n, now),
      info?.kubeletVersion ?? "",
      nodeAddress(n, "InternalIP"),
      nodeAddress(n, "ExternalIP"),
      info?.osImage || "<unknown>",
      info?.kernelVersion || "<unknown>",
      info?.containerRuntimeVersion || "<unknown>",
    ];
  },
};

// ---------- services, endpoints ----------
function serviceExternalIP(s: Service): string {
  const external = s.spec.externalIPs ?? [];
  switch (s.spec.type ?? "ClusterIP") {
    case "ClusterIP":
    case "NodePort":
      return external.length ? external.join(",") : "<none>";
    case "LoadBalancer": {
      const lb = (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip || i.hostname || "").filter(Boolean);
      const all = [...lb, ...external];
      return all.length ? all.join(",") : "<pending>";
    }
    case "ExternalName":
      return s.spec.externalName ?? "";
    default:
      return "<unknown>";
  }
}
const services: Printer = {
  columns: [
    NAME,
    col("Type", "The type of the service."),
    col("Cluster-IP", "The cluster IP of the service."),
    col("External-IP", "The external IPs of the service."),
    col("Port(s)", "The ports of the service."),
    AGE,
    col("Selector", "Route service traffic to pods with label keys and values matching this selector.", wide),
  ],
  cells(o, now) {
    const s = o as Service;
    const ports = (s.spec.ports ?? []).map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? "TCP"}` : `${p.port}/${p.protocol ?? "TCP"}`));
    return [
      s.metadata.name ?? "",
      s.spec.type ?? "ClusterIP",
      orNone(s.spec.clusterIPs?.[0]),
      serviceExternalIP(s),
      orNone(ports.join(",")),
      age(s, now),
      formatLabels(s.spec.selector),
    ];
  },
};

const hostPort = (ip: string, port: number) => (ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`);
/** formatEndpoints: the first three `ip:port`, then `+ N more...`; `<none>` without subsets. */
export function formatEndpoints(e: Endpoints): string {
  const subsets = e.subsets ?? [];
  if (subsets.length === 0) return "<none>";
  const max = 3;
  const list: string[] = [];
  let count = 0;
  for (const ss of subsets) {
    const addrs = ss.addresses ?? [];
    const ports = ss.ports?.length ? ss.ports.map((p) => p.port) : [undefined];
    for (const port of ports) {
      count += addrs.length;
      for (const a of addrs) if (list.length < max) list.push(port === undefined ? a.ip : hostPort(a.ip, port));
    }
  }
  return count > max ? `${list.join(",")} + ${count - max} more...` : list.join(",");
}
const endpoints: Printer = {
  columns: [NAME, col("Endpoints", "Endpoints of the service."), AGE],
  cells: (o, now) => [o.metadata.name ?? "", formatEndpoints(o as Endpoints), age(o, now)],
};

// ---------- workloads ----------
const deployments: Printer = {
  columns: [
    NAME,
    col("Ready", "Number of the pod with ready state."),
    col("Up-to-date", "Total number of non-terminated pods targeted by this deployment that have the desired template spec.", { type: "integer" }),
    col("Available", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.", { type: "integer" }),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
  ],
  cells(o, now) {
    const d = o as Deployment;
    const st = d.status ?? {};
    return [
      d.metadata.name ?? "",
      `${st.readyReplicas ?? 0}/${d.spec.replicas ?? 1}`,
      st.updatedReplicas ?? 0,
      st.availableReplicas ?? 0,
      age(d, now),
      ...containerCells(d.spec.template),
      selectorToString(d.spec.selector),
    ];
  },
};

function replicaPrinter(selector: (o: KubeObject) => string): Printer {
  return {
    columns: [
      NAME,
      col("Desired", "Number of desired pods.", { type: "integer" }),
      col("Current", "Number of actual replicas.", { type: "integer" }),
      col("Ready", "The number of ready replicas for this replica set.", { type: "integer" }),
      AGE,
      CONTAINERS,
      IMAGES,
      SELECTOR,
    ],
    cells(o, now) {
      const r = o as ReplicaSet | ReplicationController;
      return [
        r.metadata.name ?? "",
        r.spec.replicas ?? 1,
        r.status?.replicas ?? 0,
        r.status?.readyReplicas ?? 0,
        age(r, now),
        ...containerCells(r.spec.template),
        selector(r),
      ];
    },
  };
}

// ---------- the rest ----------
const namespaces: Printer = {
  columns: [NAME, col("Status", "The status of the namespace"), AGE],
  cells: (o, now) => [o.metadata.name ?? "", (o as Namespace).status?.phase ?? "", age(o, now)],
};
const configmaps: Printer = {
  columns: [NAME, col("Data", "Number of data entries.", { type: "integer" }), AGE],
  cells(o, now) {
    const c = o as ConfigMap;
    return [c.metadata.name ?? "", Object.keys(c.data ?? {}).length + Object.keys(c.binaryData ?? {}).length, age(c, now)];
  },
};
const secrets: Printer = {
  columns: [NAME, col("Type", "The type of the secret"), col("Data", "The number of entries in the secret's data.", { type: "integer" }), AGE],
  cells(o, now) {
    const s = o as Secret;
    return [s.metadata.name ?? "", s.type ?? "", Object.keys(s.data ?? {}).length, age(s, now)];
  },
};
const leases: Printer = {
  columns: [NAME, col("Holder", "The holder of the lease."), AGE],
  cells: (o, now) => [o.metadata.name ?? "", (o as Lease).spec?.holderIdentity ?? "", age(o, now)],
};

const events: Printer = {
  columns: [
    col("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
    col("Type", "Type of this event (Normal, Warning), new types could be added in the future."),
    col("Reason", "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
    col("Object", "The object that this event is about."),
    col("Subobject", "The field of the involved object the event is about.", wide),
    col("Source", "The component reporting this event.", wide),
    col("Message", "A human-readable description of the status of this operation."),
    col("First Seen", "The time at which the event was first recorded.", wide),
    col("Count", "The number of times this event has occurred.", wide),
    col("Name", "Name must be unique within a namespace.", { ...wide, format: "name" }),
  ],
  cells(o, now) {
    const e = o as Event;
    const first = ageOf(e.firstTimestamp || e.eventTime, now);
    const last = e.lastTimestamp ? ageOf(e.lastTimestamp, now) : first;
    const involved = e.involvedObject ?? {};
    const kind = (involved.kind ?? "").toLowerCase();
    const target = involved.name ? `${kind}/${involved.name}` : kind;
    const component = e.source?.component || e.reportingComponent || "";
    const instance = e.source?.host || e.reportingInstance || "";
    return [
      last,
      e.type ?? "",
      e.reason ?? "",
      target,
      involved.fieldPath ?? "",
      instance ? `${component}, ${instance}` : component,
      (e.message ?? "").trim(),
      first,
      e.count || 1,
      e.metadata.name ?? "",
    ];
  },
};

/** Resources without a printer of their own (Kubernetes' default table). */
export const defaultPrinter: Printer = {
  columns: [NAME, col("Created At", "CreationTimestamp is a timestamp representing the server time when this object was created.", { type: "date" })],
  cells: (o) => [o.metadata.name ?? "", o.metadata.creationTimestamp ?? ""],
};

export const PRINTERS: Readonly<Record<string, Printer>> = {
  pods,
  nodes,
  services,
  endpoints,
  deployments,
  replicasets: replicaPrinter((o) => selectorToString((o as ReplicaSet).spec.selector)),
  replicationcontrollers: replicaPrinter((o) => formatLabels((o as ReplicationController).spec.selector)),
  namespaces,
  configmaps,
  secrets,
  leases,
  events,
  ...WORKLOAD_PRINTERS,
  ...RBAC_PRINTERS,
  ...POLICY_PRINTERS,
  ...STORAGE_PRINTERS,
  ...AUTOSCALING_PRINTERS,
  ...NETWORKING_PRINTERS,
};
