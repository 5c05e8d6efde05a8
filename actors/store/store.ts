/**
 * The store: every object in JetStream KV, written with compare-and-swap on the revision
 * (`metadata.resourceVersion` = the KV revision). Stateless: any number of replicas may serve.
 * Admission (defaulting + validation) runs before every write; nothing invalid is written.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { KV } from "@nats-io/kv";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { KubeObject, KubeList, DeleteOptions, Service, Pod, Namespace } from "../../bus/resources.ts";
import type { ResourceType } from "../../bus/kinds.ts";
import type { PatchType, Subresource } from "../../bus/store-protocol.ts";
import type { Buckets } from "../../bus/kv.ts";
import { jetstream } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { randomUUID } from "node:crypto";
import { customAlphabet } from "nanoid";
import { resourceType, apiVersionOf } from "../../bus/kinds.ts";
import { keyOf, prefixOf, snapshotBucket, decodeObject, KV_OPERATION_HEADER, MAX_OBJECT_BYTES } from "../../bus/kv.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { kvKeySubject } from "../../bus/subjects.ts";
import { objectFilter } from "../../bus/selectors.ts";
import { toScale, fromScale } from "../../bus/scale.ts";
import { applyMergePatch } from "../../bus/patch/merge-patch.ts";
import { applyJsonPatch } from "../../bus/patch/json-patch.ts";
import { applyStrategicMergePatch } from "../../bus/patch/strategic-merge.ts";
import { admit } from "./admission/index.ts";
import { Allocator } from "./allocator.ts";
import { isWrongLastSequence, kvFailure } from "./kv-errors.ts";
import { planDelete } from "./deletion.ts";
import { rfc3339 as timestamp } from "../../bus/time.ts";

/** Kubernetes' generateName alphabet (no vowels, no confusable digits). */
const suffix = customAlphabet("bcdfghjklmnpqrstvwxz2456789", 5);
const enc = new TextEncoder();

export interface StoreOptions {
  /** A cache of namespaces: creates skip a KV read when the namespace is known to be active. */
  namespaces?: { get(namespace: string | undefined, name: string): Namespace | undefined };
  serviceCidr?: string;
  defaultTolerationSeconds?: number;
  now?: () => Date;
}


const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

export class Store {
  private readonly js: JetStreamClient;
  private readonly allocator: Allocator;
  private readonly now: () => Date;

  constructor(
    readonly nc: NatsConnection,
    readonly buckets: Buckets,
    private readonly opts: StoreOptions = {},
  ) {
    this.js = jetstream(nc);
    this.allocator = new Allocator(buckets.main, opts.serviceCidr);
    this.now = opts.now ?? (() => new Date());
  }

  // ---------- helpers ----------
  rt(resource: string): ResourceType {
    const rt = resourceType(resource);
    if (!rt) throw new FlotillaError(ErrorCode.NotFound, `the server could not find the requested resource (${resource})`);
    return rt;
  }
  private kv(rt: ResourceType): KV {
    return this.buckets[rt.bucket];
  }
  private ns(rt: ResourceType, namespace: string | undefined): string | undefined {
    if (!rt.namespaced) return undefined;
    if (!namespace) throw new FlotillaError(ErrorCode.BadRequest, `a namespace is required for ${rt.resource}`);
    return namespace;
  }
  private notFound(rt: ResourceType, name: string): FlotillaError {
    return new FlotillaError(ErrorCode.NotFound, `${qualified(rt)} "${name}" not found`, { details: details(rt, name) });
  }
  private conflict(rt: ResourceType, name: string, why = "the object has been modified; please apply your changes to the latest version and try again"): FlotillaError {
    return new FlotillaError(ErrorCode.Conflict, `Operation cannot be fulfilled on ${qualified(rt)} "${name}": ${why}`, { details: details(rt, name) });
  }

  /** Ensures the built-in namespaces exist (idempotent). */
  async bootstrap(): Promise<void> {
    for (const name of SYSTEM_NAMESPACES) {
      try {
        await this.create("namespaces", undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
      } catch (e) {
        if (!(e instanceof FlotillaError && e.code === ErrorCode.AlreadyExists)) throw e;
      }
    }
  }

  private async read(rt: ResourceType, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    let e;
    try {
      e = await this.kv(rt).get(keyOf(rt.resource, namespace, name));
    } catch (err) {
      throw kvFailure(err, "read");
    }
    if (!e || e.operation !== "PUT") return undefined;
    return decodeObject(e.value, e.revision);
  }

  private encodeChecked(rt: ResourceType, o: KubeObject): Uint8Array {
    const stored = { ...o, metadata: { ...o.metadata } };
    delete stored.metadata.resourceVersion;
    const data = enc.encode(JSON.stringify(stored));
    if (data.length > MAX_OBJECT_BYTES) {
      throw new FlotillaError(ErrorCode.RequestEntityTooLarge, `Request entity too large: ${rt.kind} "${o.metadata.name}" is ${data.length} bytes, limit is ${MAX_OBJECT_BYTES}`);
    }
    return data;
  }

  /** CAS write: `expected` 0 = must not exist. Returns the object at its new revision. */
  private async write(rt: ResourceType, o: KubeObject, expected: number): Promise<KubeObject> {
    const key = keyOf(rt.resource, o.metadata.namespace, o.metadata.name!);
    const data = this.encodeChecked(rt, o);
    try {
      const rev = expected === 0 ? await this.kv(rt).create(key, data) : await this.kv(rt).update(key, data, expected);
      return { ...o, metadata: { ...o.metadata, resourceVersion: String(rev) } };
    } catch (e) {
      if (isWrongLastSequence(e) || /exists/i.test(String((e as Error).message))) {
        if (expected === 0) {
          throw new FlotillaError(ErrorCode.AlreadyExists, `${qualified(rt)} "${o.metadata.name}" already exists`, { details: details(rt, o.metadata.name!) });
        }
        throw this.conflict(rt, o.metadata.name!);
      }
      throw kvFailure(e, "write");
    }
  }

  /** Removes the key with CAS, leaving the last state in the delete marker (so watchers get it). */
  private async remove(rt: ResourceType, o: KubeObject, expected: number): Promise<KubeObject> {
    const bucket = this.buckets.names[rt.bucket];
    const h = headers();
    h.set(KV_OPERATION_HEADER, "DEL");
    try {
      const ack = await this.js.publish(kvKeySubject(bucket, keyOf(rt.resource, o.metadata.namespace, o.metadata.name!)), this.encodeChecked(rt, o), {
        headers: h,
        expect: { lastSubjectSequence: expected },
      });
      if (rt.resource === "services") await this.allocator.release(o as Service);
      return { ...o, metadata: { ...o.metadata, resourceVersion: String(ack.seq) } };
    } catch (e) {
      if (isWrongLastSequence(e)) throw this.conflict(rt, o.metadata.name!);
      throw kvFailure(e, "delete");
    }
  }

  private async requireNamespace(rt: ResourceType, namespace: string | undefined): Promise<void> {
    if (!rt.namespaced || !namespace) return;
    const cached = this.opts.namespaces?.get(undefined, namespace);
    if (cached && !cached.metadata.deletionTimestamp) return;
    const ns = (await this.read(this.rt("namespaces"), undefined, namespace)) as Namespace | undefined;
    if (!ns) throw new FlotillaError(ErrorCode.NotFound, `namespaces "${namespace}" not found`, { details: { kind: "namespaces", name: namespace } });
    if (ns.metadata.deletionTimestamp && rt.resource !== "events") {
      throw new FlotillaError(ErrorCode.Forbidden, `unable to create new content in namespace ${namespace} because it is being terminated`, {
        details: { kind: "namespaces", name: namespace },
      });
    }
  }

  // ---------- verbs ----------
  async get(resource: string, namespace: string | undefined, name: string, subresource?: Subresource): Promise<KubeObject> {
    const rt = this.rt(resource);
    const o = await this.read(rt, this.ns(rt, namespace), name);
    if (!o) throw this.notFound(rt, name);
    return subresource === "scale" ? toScale(o) : o;
  }

  async list(resource: string, namespace?: string, o: { labelSelector?: string; fieldSelector?: string; limit?: number; continue?: string } = {}): Promise<KubeList> {
    const rt = this.rt(resource);
    const filter = objectFilter(resource, o.labelSelector, o.fieldSelector);
    const bucket = this.buckets.names[rt.bucket];
    let snap;
    try {
      snap = await snapshotBucket(this.nc, bucket, prefixOf(resource, rt.namespaced ? namespace || undefined : undefined));
    } catch (e) {
      throw kvFailure(e, "list");
    }
    let entries = snap.entries.filter((e) => filter(e.object)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    if (o.continue) {
      let after: string;
      try {
        after = (JSON.parse(Buffer.from(o.continue, "base64url").toString()) as { k: string }).k;
      } catch {
        throw new FlotillaError(ErrorCode.BadRequest, "invalid continue token");
      }
      entries = entries.filter((e) => e.key > after);
    }
    const metadata: KubeList["metadata"] = { resourceVersion: String(snap.revision) };
    if (o.limit && o.limit > 0 && entries.length > o.limit) {
      const rest = entries.length - o.limit;
      entries = entries.slice(0, o.limit);
      metadata.continue = Buffer.from(JSON.stringify({ k: entries[entries.length - 1]!.key, rv: snap.revision })).toString("base64url");
      metadata.remainingItemCount = rest;
    }
    return { apiVersion: apiVersionOf(rt), kind: `${rt.kind}List`, metadata, items: entries.map((e) => e.object) };
  }

  async create(resource: string, namespace: string | undefined, input: KubeObject, o: { dryRun?: boolean } = {}): Promise<KubeObject> {
    const rt = this.rt(resource);
    if (!input || typeof input !== "object" || typeof input.metadata !== "object" || input.metadata === null) {
      throw invalidField(rt, input?.metadata?.name, "metadata", "Required value");
    }
    const ns = this.ns(rt, namespace ?? input.metadata.namespace);
    if (rt.namespaced && input.metadata.namespace && input.metadata.namespace !== ns) {
      throw new FlotillaError(ErrorCode.BadRequest, "the namespace of the provided object does not match the namespace sent on the request");
    }
    await this.requireNamespace(rt, ns);
    const generated = !input.metadata.name && !!input.metadata.generateName;
    for (let attempt = 0; ; attempt++) {
      const now = this.now();
      let obj: KubeObject = {
        ...input,
        apiVersion: input.apiVersion || apiVersionOf(rt),
        kind: input.kind || rt.kind,
      };
      obj.metadata = { ...obj.metadata, uid: randomUUID(), creationTimestamp: timestamp(now) };
      if (ns) obj.metadata.namespace = ns;
      else delete obj.metadata.namespace;
      if (generated) obj.metadata.name = `${input.metadata.generateName}${suffix()}`;
      delete obj.metadata.resourceVersion;
      delete obj.metadata.deletionTimestamp;
      delete obj.metadata.deletionGracePeriodSeconds;
      if ("spec" in obj || rt.group === "apps" || rt.resource === "replicationcontrollers") obj.metadata.generation = 1;
      obj = admit(rt, obj, { now: this.now, operation: "create", options: { defaultTolerationSeconds: this.opts.defaultTolerationSeconds } });
      if (o.dryRun) return obj;
      if (rt.resource === "services") obj = await this.allocator.allocate(obj as Service);
      try {
        return await this.write(rt, obj, 0);
      } catch (e) {
        if (rt.resource === "services") await this.allocator.release(obj as Service);
        if (generated && e instanceof FlotillaError && e.code === ErrorCode.AlreadyExists && attempt < 8) continue;
        throw e;
      }
    }
  }

  /**
   * Replaces an object (or its status/scale subresource). With `metadata.resourceVersion` set it is
   * a CAS on that revision; without it, on the revision just read (retried on races).
   */
  async update(resource: string, namespace: string | undefined, name: string, input: KubeObject, o: { dryRun?: boolean; subresource?: Subresource } = {}): Promise<KubeObject> {
    const rt = this.rt(resource);
    if (!input || typeof input !== "object" || typeof input.metadata !== "object" || input.metadata === null) {
      throw invalidField(rt, name, "metadata", "Required value");
    }
    if (input.metadata.name && input.metadata.name !== name) {
      throw new FlotillaError(ErrorCode.BadRequest, `the name of the object (${input.metadata.name}) does not match the name on the URL (${name})`);
    }
    const wanted = input.metadata.resourceVersion;
    return this.mutate(rt, namespace, name, wanted, (old) => {
      if (o.subresource === "scale") return fromScale(old, input as { spec?: { replicas?: number } });
      if (o.subresource === "status") return { ...old, status: input.status };
      return input;
    }, { dryRun: o.dryRun, status: o.subresource === "status" });
  }

  async updateStatus(resource: string, namespace: string | undefined, name: string, input: KubeObject): Promise<KubeObject> {
    return this.update(resource, namespace, name, input, { subresource: "status" });
  }

  async patch(
    resource: string,
    namespace: string | undefined,
    name: string,
    patchType: PatchType,
    patch: unknown,
    o: { dryRun?: boolean; subresource?: Subresource; fieldManager?: string; force?: boolean } = {},
  ): Promise<KubeObject> {
    const rt = this.rt(resource);
    if (patchType === "apply") {
      const existing = await this.read(rt, this.ns(rt, namespace), name);
      if (!existing) {
        const obj = { ...(patch as KubeObject), metadata: { ...(patch as KubeObject).metadata, name } };
        return this.create(resource, namespace, withManagedFields(obj, o.fieldManager, this.now()), { dryRun: o.dryRun });
      }
    }
    const wanted = patchPrecondition(patch, patchType);
    const out = await this.mutate(rt, namespace, name, wanted, (old) => {
      const base: KubeObject = o.subresource === "scale" ? toScale(old) : old;
      const patched = applyPatch(base, patchType, patch, o.subresource === "scale" ? "Scale" : rt.kind) as KubeObject;
      if (!patched || typeof patched !== "object" || Array.isArray(patched)) throw new FlotillaError(ErrorCode.BadRequest, "the patch does not produce an object");
      if (o.subresource === "scale") return fromScale(old, patched as { spec?: { replicas?: number } });
      if (o.subresource === "status") return { ...old, status: patched.status };
      const next = patchType === "apply" ? withManagedFields(patched, o.fieldManager, this.now()) : patched;
      return { ...next, metadata: { ...next.metadata, resourceVersion: undefined } };
    }, { dryRun: o.dryRun, status: o.subresource === "status" });
    return o.subresource === "scale" ? toScale(out) : out;
  }

  /** Read → change → admit → CAS write, retried when someone else wrote in between (unless the caller pinned a revision). */
  private async mutate(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    wanted: string | undefined,
    change: (old: KubeObject) => KubeObject,
    o: { dryRun?: boolean; status?: boolean },
  ): Promise<KubeObject> {
    const ns = this.ns(rt, namespace);
    for (let attempt = 0; ; attempt++) {
      const old = await this.read(rt, ns, name);
      if (!old) throw this.notFound(rt, name);
      if (wanted && wanted !== old.metadata.resourceVersion) throw this.conflict(rt, name);
      const input = change(old);
      let obj: KubeObject = {
        ...input,
        apiVersion: old.apiVersion,
        kind: old.kind,
        metadata: {
          ...input.metadata,
          name: old.metadata.name,
          namespace: old.metadata.namespace,
          uid: old.metadata.uid,
          creationTimestamp: old.metadata.creationTimestamp,
          generation: old.metadata.generation,
          deletionTimestamp: old.metadata.deletionTimestamp,
          deletionGracePeriodSeconds: old.metadata.deletionGracePeriodSeconds,
        },
      };
      for (const k of ["deletionTimestamp", "deletionGracePeriodSeconds", "generation", "namespace"] as const) {
        if (obj.metadata[k] === undefined) delete obj.metadata[k];
      }
      if (o.status) {
        obj = { ...old, status: obj.status, metadata: old.metadata };
      } else if (rt.subresources.includes("status") && rt.resource !== "namespaces") {
        // The main resource never changes status (the status subresource does).
        obj.status = old.status;
        if (obj.status === undefined) delete obj.status;
      }
      if (!o.status && JSON.stringify(obj.spec) !== JSON.stringify(old.spec) && old.metadata.generation !== undefined) {
        obj.metadata.generation = old.metadata.generation + 1;
      }
      obj = admit(rt, obj, { now: this.now, operation: o.status ? "status" : "update", old, options: { defaultTolerationSeconds: this.opts.defaultTolerationSeconds } });
      if (o.dryRun) return obj;
      const expected = Number(old.metadata.resourceVersion);
      // The last finalizer gone from an object being deleted: it goes now.
      const hadFinalizers = (old.metadata.finalizers?.length ?? 0) > 0 || hasSpecFinalizers(old);
      if (obj.metadata.deletionTimestamp && hadFinalizers && !(obj.metadata.finalizers?.length) && !hasSpecFinalizers(obj)) {
        try {
          return await this.remove(rt, obj, expected);
        } catch (e) {
          if (!wanted && e instanceof FlotillaError && e.code === ErrorCode.Conflict && attempt < 20) continue;
          throw e;
        }
      }
      if (rt.resource === "services") obj = await this.reallocate(old as Service, obj as Service);
      try {
        return await this.write(rt, obj, expected);
      } catch (e) {
        if (!wanted && e instanceof FlotillaError && e.code === ErrorCode.Conflict && attempt < 20) continue;
        throw e;
      }
    }
  }

  /** Claims what an updated Service newly needs and frees what it dropped (ClusterIP itself is immutable). */
  private async reallocate(old: Service, next: Service): Promise<Service> {
    // A replace that leaves out the allocated values keeps them, as Kubernetes does.
    const spec = { ...next.spec };
    if (!spec.clusterIP && old.spec.clusterIP) {
      spec.clusterIP = old.spec.clusterIP;
      spec.clusterIPs = old.spec.clusterIPs;
    }
    spec.ports = (spec.ports ?? []).map((p) => {
      const was = (old.spec.ports ?? []).find((q) => q.port === p.port && (q.protocol ?? "TCP") === (p.protocol ?? "TCP"));
      return !p.nodePort && was?.nodePort && (spec.type === "NodePort" || spec.type === "LoadBalancer") ? { ...p, nodePort: was.nodePort } : p;
    });
    const out = await this.allocator.allocate({ ...next, spec }, old);
    await this.allocator.release(old, out);
    return out;
  }

  async delete(resource: string, namespace: string | undefined, name: string, options: DeleteOptions = {}): Promise<KubeObject> {
    const rt = this.rt(resource);
    const ns = this.ns(rt, namespace);
    for (let attempt = 0; ; attempt++) {
      const old = await this.read(rt, ns, name);
      if (!old) throw this.notFound(rt, name);
      if (options.preconditions?.uid && options.preconditions.uid !== old.metadata.uid) {
        throw this.conflict(rt, name, `Precondition failed: UID in precondition: ${options.preconditions.uid}, UID in object meta: ${old.metadata.uid}`);
      }
      if (options.preconditions?.resourceVersion && options.preconditions.resourceVersion !== old.metadata.resourceVersion) {
        throw this.conflict(rt, name, `Precondition failed: ResourceVersion in precondition: ${options.preconditions.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`);
      }
      const plan = planDelete(rt, old, options, this.now());
      if (options.dryRun?.includes("All")) return plan.object;
      const expected = Number(old.metadata.resourceVersion);
      try {
        if (plan.action === "remove") return await this.remove(rt, plan.object, expected);
        if (plan.action === "mark") return await this.write(rt, plan.object, expected);
        return old;
      } catch (e) {
        if (e instanceof FlotillaError && e.code === ErrorCode.Conflict && !options.preconditions?.resourceVersion && attempt < 20) continue;
        throw e;
      }
    }
  }

  async bind(namespace: string, name: string, node: string, uid?: string): Promise<KubeObject> {
    const rt = this.rt("pods");
    if (!node) throw invalidField(rt, name, "target.name", "Required value");
    const old = (await this.read(rt, namespace, name)) as Pod | undefined;
    if (!old) throw this.notFound(rt, name);
    if (uid && old.metadata.uid !== uid) throw this.conflict(rt, name, "the UID in the binding does not match the pod");
    if (old.spec.nodeName) throw this.conflict(rt, name, `pod ${name} is already assigned to node "${old.spec.nodeName}"`);
    if (old.metadata.deletionTimestamp) throw this.conflict(rt, name, `pod ${name} is being deleted, cannot be assigned to a host`);
    const now = timestamp(this.now());
    const conditions = (old.status?.conditions ?? []).filter((c) => c.type !== "PodScheduled");
    conditions.push({ type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: now });
    const next: Pod = { ...old, spec: { ...old.spec, nodeName: node }, status: { ...old.status, conditions } };
    return this.write(rt, next, Number(old.metadata.resourceVersion));
  }

  async evict(namespace: string, name: string, options: DeleteOptions = {}): Promise<KubeObject> {
    return this.delete("pods", namespace, name, options);
  }
}

function hasSpecFinalizers(o: KubeObject): boolean {
  return o.kind === "Namespace" && ((o.spec as { finalizers?: string[] } | undefined)?.finalizers?.length ?? 0) > 0;
}

function qualified(rt: ResourceType): string {
  return rt.group ? `${rt.resource}.${rt.group}` : rt.resource;
}
function details(rt: ResourceType, name: string) {
  return rt.group ? { name, group: rt.group, kind: rt.resource } : { name, kind: rt.resource };
}

function invalidField(rt: ResourceType, name: string | undefined, field: string, message: string): FlotillaError {
  return new FlotillaError(ErrorCode.Invalid, `${rt.kind}${rt.group ? "." + rt.group : ""} "${name ?? ""}" is invalid: ${field}: ${message}`, {
    details: { kind: rt.kind, name, group: rt.group || undefined, causes: [{ field, reason: "FieldValueRequired", message }] },
  });
}

function applyPatch(base: KubeObject, type: PatchType, patch: unknown, kind: string): unknown {
  switch (type) {
    case "merge":
      return applyMergePatch(base, patch);
    case "json":
      return applyJsonPatch(base, patch);
    case "strategic":
    case "apply":
      return applyStrategicMergePatch(base, patch, kind);
  }
}

/** A patch that names metadata.resourceVersion is a precondition on it (as in Kubernetes). */
function patchPrecondition(patch: unknown, type: PatchType): string | undefined {
  if (type === "json" || !patch || typeof patch !== "object") return undefined;
  const rv = (patch as { metadata?: { resourceVersion?: unknown } }).metadata?.resourceVersion;
  return typeof rv === "string" && rv !== "" ? rv : undefined;
}

function withManagedFields(o: KubeObject, manager: string | undefined, now: Date): KubeObject {
  const entry = { manager: manager ?? "unknown", operation: "Apply", apiVersion: o.apiVersion, time: timestamp(now), fieldsType: "FieldsV1", fieldsV1: {} };
  const others = (o.metadata.managedFields ?? []).filter((m) => (m as { manager?: string }).manager !== entry.manager);
  return { ...o, metadata: { ...o.metadata, managedFields: [...others, entry] } };
}
