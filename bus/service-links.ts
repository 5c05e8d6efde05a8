/**
 * How pods on a Docker bridge reach Services. ClusterIPs live on the host's loopback, which a
 * container cannot reach, so the proxy also serves every service port on the bridge gateway — each on
 * its own port (several Services may use port 80), allocated by the store and recorded in the
 * Service's `flotilla.io/bridge-ports` annotation: `{"<port>/<protocol>": bridgePort}`.
 */
import type { Service, ServicePort } from "./resources.ts";

export const BRIDGE_PORTS_ANNOTATION = "flotilla.io/bridge-ports";
/**
 * Process-engine pods share the host's network, so each declared containerPort gets a free loopback
 * port; the kubelet records the mapping on the pod (`{"<containerPort>": hostPort}`) and Endpoints
 * point at it.
 */
export const POD_PORTS_ANNOTATION = "flotilla.io/ports";
export const BRIDGE_PORT_RANGE = { min: 20000, max: 29999 };

export const servicePortKey = (sp: ServicePort) => `${sp.port}/${sp.protocol ?? "TCP"}`;

export function bridgePorts(svc: Service): Record<string, number> {
  const raw = svc.metadata.annotations?.[BRIDGE_PORTS_ANNOTATION];
  if (!raw) return {};
  try {
    return JSON.parse(raw) as Record<string, number>;
  } catch {
    return {};
  }
}

/** The port a service port is served on at the bridge gateway (none when not allocated). */
export function bridgePortOf(svc: Service, sp: ServicePort): number | undefined {
  return bridgePorts(svc)[servicePortKey(sp)];
}

/** Kubernetes' service environment variables (`<NAME>_SERVICE_HOST`, docker-link style `<NAME>_PORT…`). */
export function serviceEnv(services: readonly Service[], via: { bridgeAddress?: string }): Record<string, string> {
  const env: Record<string, string> = {};
  const sorted = [...services].sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
  for (const svc of sorted) {
    const ip = svc.spec.clusterIP;
    if (!ip || ip === "None" || svc.spec.type === "ExternalName" || !svc.spec.ports?.length) continue;
    const name = (svc.metadata.name ?? "").toUpperCase().replaceAll("-", "_");
    const addr = (sp: ServicePort) => (via.bridgeAddress ? { host: via.bridgeAddress, port: bridgePortOf(svc, sp) } : { host: ip, port: sp.port });
    const first = addr(svc.spec.ports[0]!);
    if (first.port === undefined) continue;
    env[`${name}_SERVICE_HOST`] = first.host;
    env[`${name}_SERVICE_PORT`] = String(first.port);
    for (const sp of svc.spec.ports) {
      const a = addr(sp);
      if (a.port === undefined) continue;
      if (sp.name) env[`${name}_SERVICE_PORT_${sp.name.toUpperCase().replaceAll("-", "_")}`] = String(a.port);
      const proto = (sp.protocol ?? "TCP").toLowerCase();
      const P = `${name}_PORT_${sp.port}_${proto.toUpperCase()}`;
      env[P] = `${proto}://${a.host}:${a.port}`;
      env[`${P}_PROTO`] = proto;
      env[`${P}_PORT`] = String(a.port);
      env[`${P}_ADDR`] = a.host;
    }
    env[`${name}_PORT`] = `${(svc.spec.ports[0]!.protocol ?? "TCP").toLowerCase()}://${first.host}:${first.port}`;
  }
  return env;
}
