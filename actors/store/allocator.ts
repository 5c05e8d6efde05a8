/**
 * Claims and releases Service addresses (allocation keys, see allocation.ts) in KV. The rules that
 * keep an address from being handed out twice or lost:
 * - a write first *claims* what the new version needs (an atomic KV create per address), then writes
 *   the Service with CAS;
 * - a failed attempt frees only its own claims, each with CAS on the revision it was claimed at;
 * - what the old version held is released only after the new version (or the removal) committed,
 *   and only where the key still names that Service.
 * Anything a crash leaves behind is a leak, which the repair loop (repair.ts) frees.
 */
import type { KV } from "@nats-io/kv";
import type { Service } from "../../bus/resources.ts";
import type { AllocationOwner } from "./allocation.ts";
import type { KvWriter } from "./kv-writer.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { BRIDGE_PORTS_ANNOTATION, BRIDGE_PORT_RANGE, servicePortKey } from "../../bus/service-links.ts";
import { kvFailure } from "./kv-errors.ts";
import { createKey } from "./kv-writer.ts";
import {
  DEFAULT_SERVICE_CIDR,
  NODE_PORT_RANGE,
  parseCidr,
  inCidr,
  intToIp,
  ipKey,
  nodePortKey,
  bridgePortKey,
  hasNodePorts,
  heldKeys,
  ownerOf,
  ownedBy,
  decodeOwner,
  storedBridgePorts,
} from "./allocation.ts";

/** One address this attempt claimed, at the revision it was claimed at. */
export interface Claim {
  key: string;
  revision: number;
}

/** Random picks tried before a range counts as full. */
const TRIES = 64;

export class Allocator {
  constructor(
    private readonly kv: KV,
    /** Claims and frees are compare-and-swap writes like any other (kv-writer.ts). */
    private readonly writer: KvWriter,
    readonly cidr = DEFAULT_SERVICE_CIDR,
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * Fills in spec.clusterIP(s), nodePorts and the bridge-ports annotation of `next`, claiming each
   * address that `held` (the stored version, for an update) does not hold already. A requested
   * address someone else holds is `Invalid`; on any failure this attempt's claims are freed.
   */
  async claim(next: Service, held?: Service): Promise<{ service: Service; claims: Claim[] }> {
    const heldSet = new Set(held ? heldKeys(held) : []);
    const owner = ownerOf(next);
    const spec = { ...next.spec, ports: (next.spec.ports ?? []).map((p) => ({ ...p })) };
    const claims: Claim[] = [];
    const fresh = async (key: string): Promise<boolean> => {
      const revision = await this.create(key, owner);
      if (revision !== undefined) claims.push({ key, revision });
      return revision !== undefined;
    };
    /** A requested address: fine when this Service holds it already (or just claimed it for another protocol). */
    const take = async (key: string): Promise<boolean> => heldSet.has(key) || claims.some((c) => c.key === key) || (await fresh(key));
    /** A random free address: never one this Service holds or just claimed. */
    const pick = async (count: number, candidate: () => number, keyOf: (v: number) => string): Promise<number | undefined> => {
      for (let i = 0; i < Math.min(TRIES, count); i++) {
        const v = candidate();
        const key = keyOf(v);
        if (!heldSet.has(key) && !claims.some((c) => c.key === key) && (await fresh(key))) return v;
      }
      return undefined;
    };
    const annotations = { ...(next.metadata.annotations ?? {}) };
    delete annotations[BRIDGE_PORTS_ANNOTATION];
    try {
      if (spec.type !== "ExternalName" && spec.clusterIP !== "None") {
        const { base, size } = parseCidr(this.cidr);
        if (spec.clusterIP) {
          if (!inCidr(spec.clusterIP, this.cidr)) {
            throw invalid(next, "spec.clusterIP", `Invalid value: "${spec.clusterIP}": provided IP is not in the valid range. The range of valid IPs is ${this.cidr}`);
          }
          if (!(await take(ipKey(spec.clusterIP)))) throw invalid(next, "spec.clusterIP", `Invalid value: "${spec.clusterIP}": provided IP is already allocated`);
        } else {
          const ip = await pick(size, () => base + 1 + Math.floor(this.random() * (size - 2)), (n) => ipKey(intToIp(n)));
          if (ip === undefined) throw new FlotillaError(ErrorCode.Internal, `failed to allocate a serviceIP: range ${this.cidr} is full`);
          spec.clusterIP = intToIp(ip);
        }
        spec.clusterIPs = [spec.clusterIP];
      }
      if (hasNodePorts(next)) {
        const span = NODE_PORT_RANGE.max - NODE_PORT_RANGE.min + 1;
        for (const [i, p] of spec.ports.entries()) {
          if (p.nodePort) {
            if (!(await take(nodePortKey(p.nodePort)))) throw invalid(next, `spec.ports[${i}].nodePort`, `Invalid value: ${p.nodePort}: provided port is already allocated`);
            continue;
          }
          const port = await pick(span, () => NODE_PORT_RANGE.min + Math.floor(this.random() * span), nodePortKey);
          if (port === undefined) throw new FlotillaError(ErrorCode.Internal, "failed to allocate a nodePort: range is full");
          p.nodePort = port;
        }
      }
      // Every proxied port also gets a port on the Docker bridge gateway (bus/service-links.ts).
      if (spec.type !== "ExternalName" && spec.clusterIP && spec.clusterIP !== "None") {
        const had = held ? storedBridgePorts(held) : {};
        const mine: Record<string, number> = {};
        const span = BRIDGE_PORT_RANGE.max - BRIDGE_PORT_RANGE.min + 1;
        for (const p of spec.ports) {
          const k = servicePortKey(p);
          if (had[k] && heldSet.has(bridgePortKey(had[k]))) {
            mine[k] = had[k];
            continue;
          }
          const port = await pick(span, () => BRIDGE_PORT_RANGE.min + Math.floor(this.random() * span), bridgePortKey);
          if (port === undefined) throw new FlotillaError(ErrorCode.Internal, "failed to allocate a bridge port: range is full");
          mine[k] = port;
        }
        annotations[BRIDGE_PORTS_ANNOTATION] = JSON.stringify(mine);
      }
    } catch (e) {
      await this.unclaim(claims);
      throw e;
    }
    const { annotations: _dropped, ...rest } = next.metadata;
    const metadata = Object.keys(annotations).length ? { ...rest, annotations } : rest;
    return { service: { ...next, metadata, spec }, claims };
  }

  /** Frees this attempt's own claims; a key claimed again since (another revision) is left alone. */
  async unclaim(claims: readonly Claim[]): Promise<void> {
    await Promise.all(claims.map((c) => this.free(c.key, c.revision)));
  }

  /** After a committed write: frees what `old` held and `kept` does not, where the key still names `old`. */
  async releaseDropped(old: Service, kept?: Service): Promise<void> {
    const keep = new Set(kept ? heldKeys(kept) : []);
    await Promise.all(
      heldKeys(old)
        .filter((k) => !keep.has(k))
        .map(async (key) => {
          const e = await this.kv.get(key).catch(() => null);
          if (e && e.operation === "PUT" && ownedBy(decodeOwner(e.value), old)) await this.free(key, e.revision);
        }),
    );
  }

  /**
   * Creates an allocation key; its revision, or undefined when someone holds it. A key whose last
   * entry is a purge (a freed address) is free again.
   */
  async create(key: string, owner: AllocationOwner): Promise<number | undefined> {
    try {
      return await createKey(this.writer, this.kv, { bucket: "main", key, data: new TextEncoder().encode(JSON.stringify(owner)) });
    } catch (e) {
      throw kvFailure(e, "allocate");
    }
  }

  /** Purges an allocation key if it is still at `revision`. */
  async free(key: string, revision: number): Promise<boolean> {
    try {
      await this.writer.write({ bucket: "main", key, data: new Uint8Array(0), expected: revision, op: "PURGE" });
      return true;
    } catch {
      return false;
    }
  }
}

function invalid(svc: Service, field: string, message: string): FlotillaError {
  return new FlotillaError(ErrorCode.Invalid, `Service "${svc.metadata.name}" is invalid: ${field}: ${message}`, {
    details: { kind: "Service", name: svc.metadata.name, causes: [{ field, reason: "FieldValueInvalid", message }] },
  });
}
