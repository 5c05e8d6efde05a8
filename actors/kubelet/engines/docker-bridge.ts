/**
 * Where a Docker pod reaches its node: the gateway of Docker's default `bridge` network (the host's
 * address on `docker0`). The node reports it as an InternalIP, the proxy serves Services' bridge
 * ports on it and the kubelet hands it to pods as `<SVC>_SERVICE_HOST`.
 *
 * A freshly started dockerd 20.10 describes its bridge network as
 * `IPAM.Config = [{ Subnet: "172.17.0.0/16" }]` with no `Gateway`: that field is only there when
 * it was configured, so it is the last thing consulted. In order:
 *   1. the IPv4 address of the bridge interface on this host (the network's
 *      `com.docker.network.bridge.name` option, `docker0` by default) — the address the proxy binds;
 *   2. the gateway Docker reports for a container attached to the network;
 *   3. the IPAM `Gateway`, when the network was configured with one.
 *
 * @example
 *   pickBridgeAddress({ network, interfaces: networkInterfaces() }) // "172.17.0.1"
 */
import type Docker from "dockerode";
import type { NetworkInterfaceInfo } from "node:os";
import { networkInterfaces } from "node:os";
import { execFileSync } from "node:child_process";

/** The parts of `GET /networks/bridge` this reads. */
export interface BridgeNetwork {
  Options?: Record<string, string>;
  IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] };
  Containers?: Record<string, unknown>;
}

export const DEFAULT_BRIDGE_INTERFACE = "docker0";
const BRIDGE_NAME_OPTION = "com.docker.network.bridge.name";

export type BridgeAddressSource = "interface" | "container" | "ipam";

export interface BridgeFacts {
  network?: BridgeNetwork;
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>;
  /** The gateway Docker reports in a bridge-attached container's NetworkSettings, if one was looked at. */
  containerGateway?: string;
}

/** The bridge interface's name on the host (`docker0` unless the network says otherwise). */
export function bridgeInterfaceName(network: BridgeNetwork | undefined): string {
  return network?.Options?.[BRIDGE_NAME_OPTION] || DEFAULT_BRIDGE_INTERFACE;
}

/** Picks the address (pure): interface, then a container's gateway, then the optional IPAM field. */
export function pickBridgeAddress(f: BridgeFacts): { address: string; source: BridgeAddressSource } | undefined {
  const iface = (f.interfaces[bridgeInterfaceName(f.network)] ?? []).find((a) => a.family === "IPv4" && !a.internal);
  if (iface) return { address: iface.address, source: "interface" };
  if (f.containerGateway) return { address: f.containerGateway, source: "container" };
  const ipam = f.network?.IPAM?.Config?.find((c) => c.Gateway && !c.Gateway.includes(":"))?.Gateway;
  if (ipam) return { address: ipam, source: "ipam" };
  return undefined;
}

/** The gateway of a container's endpoint on the default bridge network ("" when it has none). */
export function bridgeGatewayOf(settings: { Gateway?: string; Networks?: Record<string, { Gateway?: string }> } | undefined): string | undefined {
  return settings?.Networks?.bridge?.Gateway || settings?.Gateway || undefined;
}

/**
 * The host's interfaces with their IPv4 addresses. Node's `networkInterfaces()` leaves out links
 * that are not running, and a fresh engine's `docker0` has no carrier until a container attaches,
 * so a bridge it does not list is read with `ip -4 -o addr show dev <name>`.
 */
export function hostInterfaces(name: string): NodeJS.Dict<NetworkInterfaceInfo[]> {
  const all = networkInterfaces();
  if (all[name]?.length) return all;
  try {
    const out = execFileSync("ip", ["-4", "-o", "addr", "show", "dev", name], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 5000 });
    const m = /inet (\d+\.\d+\.\d+\.\d+)\/(\d+)/.exec(out);
    if (m) {
      const info = { address: m[1]!, netmask: "", family: "IPv4", mac: "", internal: false, cidr: `${m[1]}/${m[2]}` } as NetworkInterfaceInfo;
      return { ...all, [name]: [info] };
    }
  } catch {
    /* no such link here (dockerd in another namespace), or no iproute2 */
  }
  return all;
}

/** Asks the engine (and the host's interfaces) for the bridge address; undefined when nothing tells. */
export async function discoverBridgeAddress(docker: Docker): Promise<{ address: string; source: BridgeAddressSource } | undefined> {
  const network = (await docker.getNetwork("bridge").inspect().catch(() => undefined)) as BridgeNetwork | undefined;
  const interfaces = hostInterfaces(bridgeInterfaceName(network));
  const first = pickBridgeAddress({ network, interfaces });
  if (first?.source === "interface") return first;
  // Not visible from here (dockerd in another network namespace): ask a container on the bridge.
  for (const id of Object.keys(network?.Containers ?? {})) {
    const i = await docker.getContainer(id).inspect().catch(() => undefined);
    const containerGateway = bridgeGatewayOf(i?.NetworkSettings as Parameters<typeof bridgeGatewayOf>[0]);
    if (containerGateway) return pickBridgeAddress({ network, interfaces, containerGateway });
  }
  return first;
}
