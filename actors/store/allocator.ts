/**
 * Service ClusterIPs (from a loopback range, default 127.96.0.0/16) and NodePorts (30000–32767).
 * Each allocation is a KV key created atomically, so store replicas never hand out the same one,
 * allocations survive restarts, and deleting the Service frees them.
 */
import type { KV } from "@nats-io/kv";
import type { Service } from "../../bus/resources.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { isWrongLastSequence } from "./kv-errors.ts";
import { BRIDGE_PORTS_ANNOTATION, BRIDGE_PORT_RANGE, bridgePorts, servicePortKey } from "../../bus/service-links.ts";

export const DEFAULT_SERVICE_CIDR = "127.96.0.0/16";
export const NODE_PORT_RANGE = { min: 30000, max: 32767 };

function ipToInt(ip: string): number {
  return ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
}
function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
}
export function parseCidr(cidr: string): { base: number; size: number } {
  const [ip, bits] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  return { base: ipToInt(ip!) & ~(size - 1) >>> 0, size };
}
export function inCidr(ip: string, cidr: string): boolean {
  const { base, size } = parseCidr(cidr);
  const n = ipToInt(ip);
  return n >= base && n < base + size;
}

const ipKey = (ip: string) => `_alloc.clusterip.${ip.replaceAll(".", "_")}`;
const portKey = (p: number) => `_alloc.nodeport.${p}`;
const bridgeKey = (p: number) => `_alloc.bridgeport.${p}`;

export class Allocator {
  constructor(
    private readonly kv: KV,
    private readonly cidr = DEFAULT_SERVICE_CIDR,
  ) {}

  private async claim(key: string, owner: string): Promise<boolean> {
    try {
      await this.kv.create(key, JSON.stringify({ owner }));
      return true;
    } catch (e) {
      if (isWrongLastSequence(e) || /exists/i.test(String((e as Error).message))) return false;
      throw e;
    }
  }

  private async claimRandom(candidates: () => string, count: number, keyOf: (v: string) => string, owner: string): Promise<string | undefined> {
    for (let i = 0; i < Math.min(64, count); i++) {
      const v = candidates();
      if (await this.claim(keyOf(v), owner)) return v;
    }
    return undefined;
  }

  /** Fills in spec.clusterIP(s) and nodePorts, reserving each; throws Invalid when a requested one is taken. */
  async allocate(svc: Service, held?: Service): Promise<Service> {
    const heldKeys = new Set(held ? this.keysOf(held) : []);
    const owner = `${svc.metadata.namespace}/${svc.metadata.name}`;
    const spec = { ...svc.spec, ports: (svc.spec.ports ?? []).map((p) => ({ ...p })) };
    const claimed: string[] = [];
    let annotations: Record<string, string> | undefined;
    try {
      if (spec.type !== "ExternalName" && spec.clusterIP !== "None") {
        const { base, size } = parseCidr(this.cidr);
        if (spec.clusterIP) {
          if (!inCidr(spec.clusterIP, this.cidr)) {
            throw invalid(svc, "spec.clusterIP", `Invalid value: "${spec.clusterIP}": provided IP is not in the valid range. The range of valid IPs is ${this.cidr}`);
          }
          if (heldKeys.has(ipKey(spec.clusterIP))) {
            // already ours
          } else if (!(await this.claim(ipKey(spec.clusterIP), owner))) {
            throw invalid(svc, "spec.clusterIP", `Invalid value: "${spec.clusterIP}": provided IP is already allocated`);
          }
        } else {
          const ip = await this.claimRandom(() => intToIp(base + 1 + Math.floor(Math.random() * (size - 2))), size, (v) => ipKey(v), owner);
          if (!ip) throw new FlotillaError(ErrorCode.Internal, `failed to allocate a serviceIP: range ${this.cidr} is full`);
          spec.clusterIP = ip;
        }
        if (!heldKeys.has(ipKey(spec.clusterIP))) claimed.push(ipKey(spec.clusterIP));
        spec.clusterIPs = [spec.clusterIP];
      }
      if (spec.type === "NodePort" || spec.type === "LoadBalancer") {
        for (const [i, p] of spec.ports.entries()) {
          if (p.nodePort && heldKeys.has(portKey(p.nodePort))) continue;
          if (p.nodePort) {
            if (!(await this.claim(portKey(p.nodePort), owner))) {
              throw invalid(svc, `spec.ports[${i}].nodePort`, `Invalid value: ${p.nodePort}: provided port is already allocated`);
            }
          } else {
            const span = NODE_PORT_RANGE.max - NODE_PORT_RANGE.min + 1;
            const port = await this.claimRandom(() => String(NODE_PORT_RANGE.min + Math.floor(Math.random() * span)), span, (v) => portKey(Number(v)), owner);
            if (!port) throw new FlotillaError(ErrorCode.Internal, "failed to allocate a nodePort: range is full");
            p.nodePort = Number(port);
          }
          claimed.push(portKey(p.nodePort));
        }
      }
      // Every proxied port also gets a port on the Docker bridge gateway (bus/service-links.ts).
      if (spec.type !== "ExternalName" && spec.clusterIP && spec.clusterIP !== "None") {
        const had = held ? bridgePorts(held) : {};
        const mine: Record<string, number> = {};
        const span = BRIDGE_PORT_RANGE.max - BRIDGE_PORT_RANGE.min + 1;
        for (const p of spec.ports) {
          const k = servicePortKey(p);
          if (had[k]) {
            mine[k] = had[k];
            continue;
          }
          const port = await this.claimRandom(() => String(BRIDGE_PORT_RANGE.min + Math.floor(Math.random() * span)), span, (v) => bridgeKey(Number(v)), owner);
          if (!port) throw new FlotillaError(ErrorCode.Internal, "failed to allocate a bridge port: range is full");
          mine[k] = Number(port);
          claimed.push(bridgeKey(Number(port)));
        }
        annotations = { ...(svc.metadata.annotations ?? {}), [BRIDGE_PORTS_ANNOTATION]: JSON.stringify(mine) };
      }
    } catch (e) {
      await this.releaseKeys(claimed);
      throw e;
    }
    return { ...svc, metadata: annotations ? { ...svc.metadata, annotations } : svc.metadata, spec };
  }

  /** Frees what a Service holds (after delete), or what an update dropped. */
  async release(svc: Service, keep?: Service): Promise<void> {
    const held = this.keysOf(svc);
    const kept = new Set(keep ? this.keysOf(keep) : []);
    await this.releaseKeys(held.filter((k) => !kept.has(k)));
  }

  keysOf(svc: Service): string[] {
    const keys: string[] = [];
    if (svc.spec?.clusterIP && svc.spec.clusterIP !== "None") keys.push(ipKey(svc.spec.clusterIP));
    for (const p of svc.spec?.ports ?? []) if (p.nodePort) keys.push(portKey(p.nodePort));
    for (const p of Object.values(bridgePorts(svc))) keys.push(bridgeKey(p));
    return keys;
  }

  private async releaseKeys(keys: string[]): Promise<void> {
    for (const k of keys) await this.kv.purge(k).catch(() => undefined);
  }
}

function invalid(svc: Service, field: string, message: string): FlotillaError {
  return new FlotillaError(ErrorCode.Invalid, `Service "${svc.metadata.name}" is invalid: ${field}: ${message}`, {
    details: { kind: "Service", name: svc.metadata.name, causes: [{ field, reason: "FieldValueInvalid", message }] },
  });
}
