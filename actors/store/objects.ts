/**
 * The store's object I/O on JetStream KV: read, CAS create/update, and removal as a delete marker
 * that carries the object's last state (so watchers receive it). Errors come back as the wire's:
 * a stale CAS is `Conflict` (`AlreadyExists` for a create), anything else from KV `Timeout` or
 * `Unavailable` — an outcome the caller cannot know (`isAmbiguous`), since the write may have landed.
 */
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { KubeObject } from "../../bus/resources.ts";
import type { ResourceType } from "../../bus/kinds.ts";
import type { Buckets } from "../../bus/kv.ts";
import type { KvWriter } from "./kv-writer.ts";
import { createKey } from "./kv-writer.ts";
import { readKey } from "./kv-read.ts";
import { keyOf, decodeObject, MAX_OBJECT_BYTES } from "../../bus/kv.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { isWrongLastSequence, kvFailure } from "./kv-errors.ts";
import { alreadyExists, conflict } from "./errors.ts";

const enc = new TextEncoder();

/** A write failed in a way that does not say whether it was stored (time-out, lost connection). */
export function isAmbiguous(e: unknown): boolean {
  return e instanceof FlotillaError && (e.code === ErrorCode.Timeout || e.code === ErrorCode.Unavailable);
}

export class Objects {
  constructor(
    private readonly nc: NatsConnection,
    readonly buckets: Buckets,
    /** Every compare-and-swap write goes through it (kv-writer.ts). */
    private readonly writer: KvWriter,
    /** What a value is stored as (encryption at rest, bus/encryption.ts); default the plaintext. */
    private readonly seal: (resource: string, plaintext: Uint8Array) => Uint8Array = (_r, p) => p,
  ) {}

  kv(rt: ResourceType): KV {
    return this.buckets[rt.bucket];
  }

  async read(rt: ResourceType, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    let e;
    try {
      e = await readKey(this.nc, this.kv(rt), this.buckets.names[rt.bucket], keyOf(rt.resource, namespace, name));
    } catch (err) {
      throw kvFailure(err, "read");
    }
    if (!e || e.operation !== "PUT") return undefined;
    return decodeObject(e.value, e.revision);
  }

  /** CAS create. A key whose last entry is a delete marker is free again. */
  async create(rt: ResourceType, o: KubeObject): Promise<KubeObject> {
    const data = this.seal(rt.resource, encodeChecked(rt, o));
    const key = keyOf(rt.resource, o.metadata.namespace, o.metadata.name!);
    let seq;
    try {
      seq = await createKey(this.writer, this.kv(rt), { bucket: rt.bucket, key, data, created: true });
    } catch (e) {
      throw kvFailure(e, "write");
    }
    if (seq === undefined) throw alreadyExists(rt, o.metadata.name!);
    return at(o, seq);
  }

  /** CAS update on the revision `expected`. */
  async update(rt: ResourceType, o: KubeObject, expected: number): Promise<KubeObject> {
    const data = this.seal(rt.resource, encodeChecked(rt, o));
    try {
      return at(o, await this.writer.write({ bucket: rt.bucket, key: keyOf(rt.resource, o.metadata.namespace, o.metadata.name!), data, expected }));
    } catch (e) {
      if (isWrongLastSequence(e)) throw conflict(rt, o.metadata.name!);
      throw kvFailure(e, "write");
    }
  }

  /** Removes the key with CAS, leaving the last state in the delete marker (so watchers get it). */
  async remove(rt: ResourceType, o: KubeObject, expected: number): Promise<KubeObject> {
    try {
      const seq = await this.writer.write({ bucket: rt.bucket, key: keyOf(rt.resource, o.metadata.namespace, o.metadata.name!), data: this.seal(rt.resource, encodeChecked(rt, o)), expected, op: "DEL" });
      return at(o, seq);
    } catch (e) {
      if (isWrongLastSequence(e)) throw conflict(rt, o.metadata.name!);
      throw kvFailure(e, "delete");
    }
  }
}

function at(o: KubeObject, revision: number): KubeObject {
  return { ...o, metadata: { ...o.metadata, resourceVersion: String(revision) } };
}

function encodeChecked(rt: ResourceType, o: KubeObject): Uint8Array {
  const stored = { ...o, metadata: { ...o.metadata } };
  delete stored.metadata.resourceVersion;
  const data = enc.encode(JSON.stringify(stored));
  if (data.length > MAX_OBJECT_BYTES) {
    throw new FlotillaError(ErrorCode.RequestEntityTooLarge, `Request entity too large: ${rt.kind} "${o.metadata.name}" is ${data.length} bytes, limit is ${MAX_OBJECT_BYTES}`);
  }
  return data;
}
