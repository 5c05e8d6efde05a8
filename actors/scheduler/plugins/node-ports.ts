/** NodePorts: a pod's host ports must be free on the node (same protocol and port, overlapping IP). */
import type { FilterPlugin, HostPort } from "../types.ts";

export const REASON_PORTS = "node(s) didn't have free ports for the requested pod ports";
const ANY = "0.0.0.0";

export const nodePorts: FilterPlugin<readonly HostPort[]> = {
  name: "NodePorts",
  preFilter: (pod) => (pod.ports.length > 0 ? pod.ports : undefined),
  filter: (ports, _pod, node) => {
    for (const p of ports) {
      const ips = node.usedPorts.get(`${p.protocol}/${p.port}`);
      if (ips && (p.ip === ANY || ips.some((ip) => ip === ANY || ip === p.ip))) return [REASON_PORTS];
    }
    return undefined;
  },
};
