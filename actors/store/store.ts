/**
 * The store: every object in JetStream KV, written with compare-and-swap on the revision
 * (`metadata.resourceVersion` = the KV revision). Stateless: any number of replicas may serve.
 * Each verb reads, asks a pure plan what to write (`planCreate`, `planUpdate`, `planDelete`,
 * admission inside them), and writes with CAS; on a lost race it reads again.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { KubeObject, KubeList, DeleteOptions, Service, Pod, Namespace, Event } from "../../bus/resources.ts";
import type { ResourceType } from "../../bus/kinds.ts";
import type { PatchType, Subresource, Binding, BindOutcome } from "../../bus/store-protocol.ts";
import type { Buckets } from "../../bus/kv.ts";
import type { UpdateInput } from "./update.ts";
import type { ListOptions } from "./list.ts";
import { randomUUID } from "node:crypto";
import { customAlphabet } from "nanoid";
import { resourceType } from "../../bus/kinds.ts";
import { ErrorCode, FlotillaError, isCode, toWireError } from "../../bus/errors.ts";
import { refuseUnstorable } from "./decode.ts";
import { toScale } from "../../bus/scale.ts";
import { rfc3339 as timestamp } from "../../bus/time.ts";
import { scheduledEvent, type EventSource } from "../../runtime/events.ts";
import { Semaphore } from "../../runtime/semaphore.ts";
import { Allocator } from "./allocator.ts";
import type { KvWriter } from "./kv-writer.ts";
import { directKvWriter } from "./kv-writer.ts";
import { Objects } from "./objects.ts";
import { ServiceWrites } from "./services.ts";
import { planCreate, isGenerated } from "./create.ts";
import { planUpdate, preconditionOf } from "./update.ts";
import { planDelete } from "./deletion.ts";
import { withManagedFields } from "./patch.ts";
import { resolveTarget, namespaceOf } from "./target.ts";
import { notFound, conflict, invalidField, isConflict } from "./errors.ts";
import { listPage } from "./list.ts";
import { CustomTypes } from "./custom-types.ts";
import { QuotaAdmission, type QuotaSource } from "./quota.ts";
import { chargeBudget } from "./eviction.ts";
import { limitPod, type LimitRange } from "./limit-ranges.ts";
import { withDefaultIngressClass } from "./ingress-class.ts";
import type { Ingress, IngressClass } from "../../bus/networking.ts";
import type { CustomResourceDefinition } from "../../bus/crd.ts";

/** Kubernetes' generateName alphabet (no vowels, no confusable digits). */
const suffix = customAlphabet("bcdfghjklmnpqrstvwxz2456789", 5);

export interface StoreOptions {
  /** Every compare-and-swap write to KV (kv-writer.ts); default: published straight away. */
  writer?: KvWriter;
  /** A cache of namespaces: creates skip a KV read when the namespace is known to be active. */
  namespaces?: { get(namespace: string | undefined, name: string): Namespace | undefined };
  serviceCidr?: string;
  defaultTolerationSeconds?: number;
  now?: () => Date;
  /** The quotas of each namespace (an informer); without it quotas are not enforced. */
  quotas?: QuotaSource;
  /** The LimitRanges of each namespace (an informer); without it none apply. */
  limitRanges?: { list(namespace?: string): LimitRange[] };
  /** Encryption at rest: what each value is stored as (default the plaintext). */
  seal?: (resource: string, plaintext: Uint8Array) => Uint8Array;
  /** IngressClasses (an informer): an Ingress without a class gets the default one. */
  ingressClasses?: { list(): IngressClass[] };
}

const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];
/** Re-reads after a lost CAS race before giving up with Conflict. */
const RETRIES = 20;
/** Events a bind batch asked for, waiting to be written, at most (more are dropped, as client-go's broadcaster drops). */
const EVENT_BACKLOG = 1000;
/** Such Events written at once. */
const EVENT_WRITES = 4;

export class Store {
  readonly objects: Objects;
  readonly allocator: Allocator;
  private readonly services: ServiceWrites;
  private readonly now: () => Date;
  /** The types CustomResourceDefinitions add (read from KV when a request names one not yet known). */
  readonly customTypes: CustomTypes;
  private readonly quota?: QuotaAdmission;
  private readonly eventWrites = new Semaphore(EVENT_WRITES);
  private eventsWaiting = 0;
  /** Events of bind batches not written because the backlog was full. */
  droppedEvents = 0;

  constructor(
    readonly nc: NatsConnection,
    readonly buckets: Buckets,
    private readonly opts: StoreOptions = {},
  ) {
    const writer = opts.writer ?? directKvWriter(nc, buckets);
    this.objects = new Objects(nc, buckets, writer, opts.seal);
    this.allocator = new Allocator(buckets.main, writer, opts.serviceCidr);
    this.services = new ServiceWrites(this.objects, this.allocator);
    this.now = opts.now ?? (() => new Date());
    this.customTypes = new CustomTypes(async () => (await listPage(nc, buckets, this.rt("customresourcedefinitions"), undefined, {})).items as CustomResourceDefinition[]);
    if (opts.quotas) this.quota = new QuotaAdmission(nc, buckets, this.objects, opts.quotas);
  }

  /** A built-in type (sync). */
  rt(resource: string): ResourceType {
    const rt = resourceType(resource) ?? this.customTypes.catalog.get(resource);
    if (!rt) throw new FlotillaError(ErrorCode.NotFound, `the server could not find the requested resource (${resource})`);
    return rt;
  }

  /** Any served type, custom ones included. */
  async type(resource: string): Promise<ResourceType> {
    const rt = resourceType(resource) ?? (await this.customTypes.resolve(resource));
    if (!rt) throw new FlotillaError(ErrorCode.NotFound, `the server could not find the requested resource (${resource})`);
    return rt;
  }

  /** Ensures the built-in namespaces exist (idempotent). */
  async bootstrap(): Promise<void> {
    for (const name of SYSTEM_NAMESPACES) {
      try {
        await this.create("namespaces", undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
      } catch (e) {
        if (!isCode(e, ErrorCode.AlreadyExists)) throw e;
      }
    }
  }

  private async requireNamespace(rt: ResourceType, namespace: string | undefined): Promise<void> {
    if (!rt.namespaced || !namespace) return;
    const cached = this.opts.namespaces?.get(undefined, namespace);
    if (cached && !cached.metadata.deletionTimestamp) return;
    const ns = (await this.objects.read(this.rt("namespaces"), undefined, namespace)) as Namespace | undefined;
    if (!ns) throw new FlotillaError(ErrorCode.NotFound, `namespaces "${namespace}" not found`, { details: { kind: "namespaces", name: namespace } });
    if (ns.metadata.deletionTimestamp && rt.resource !== "events") {
      throw new FlotillaError(ErrorCode.Forbidden, `unable to create new content in namespace ${namespace} because it is being terminated`, {
        details: { kind: "namespaces", name: namespace },
      });
    }
  }

  // ---------- writes, with a Service's addresses claimed and released around them ----------
  private createObject(rt: ResourceType, o: KubeObject): Promise<KubeObject> {
    return rt.resource === "services" ? this.services.create(rt, o as Service) : this.objects.create(rt, o);
  }
  private updateObject(rt: ResourceType, old: KubeObject, o: KubeObject, expected: number): Promise<KubeObject> {
    return rt.resource === "services" ? this.services.update(rt, old as Service, o as Service, expected) : this.objects.update(rt, o, expected);
  }
  private removeObject(rt: ResourceType, old: KubeObject, o: KubeObject, expected: number): Promise<KubeObject> {
    return rt.resource === "services" ? this.services.remove(rt, old as Service, o, expected) : this.objects.remove(rt, o, expected);
  }

  // ---------- verbs ----------
  async get(resource: string, namespace: string | undefined, name: string, subresource?: Subresource): Promise<KubeObject> {
    const rt = await this.type(resource);
    const o = await this.objects.read(rt, namespaceOf(rt, namespace), name);
    if (!o) throw notFound(rt, name);
    return subresource === "scale" ? toScale(o) : o;
  }

  async list(resource: string, namespace?: string, o: ListOptions = {}): Promise<KubeList> {
    const rt = await this.type(resource);
    return listPage(this.nc, this.buckets, rt, rt.namespaced ? namespace || undefined : undefined, o);
  }

  async create(resource: string, namespace: string | undefined, input: KubeObject, o: { dryRun?: boolean } = {}): Promise<KubeObject> {
    const rt = await this.type(resource);
    if (rt.custom?.terminating) {
      throw new FlotillaError(ErrorCode.MethodNotAllowed, `create not allowed while custom resource definition is terminating`, { details: { kind: rt.resource, group: rt.group } });
    }
    const ns = resolveTarget(rt, { namespace }, input);
    await this.requireNamespace(rt, ns);
    if (rt.resource === "pods" && ns && this.opts.limitRanges) input = this.limited(rt, ns, input as Pod);
    if (rt.resource === "ingresses" && this.opts.ingressClasses && input?.spec !== null && typeof input === "object") input = withDefaultIngressClass(input as Ingress, this.opts.ingressClasses.list());
    const deps = { now: this.now, uid: randomUUID, suffix, defaultTolerationSeconds: this.opts.defaultTolerationSeconds };
    for (let attempt = 0; ; attempt++) {
      const obj = planCreate(rt, input, ns, deps);
      if (rt.resource === "customresourcedefinitions") await this.checkNames(obj as CustomResourceDefinition);
      if (o.dryRun) return obj;
      if (this.quota && ns) await this.quota.charge(rt, ns, obj);
      try {
        return await this.createObject(rt, obj);
      } catch (e) {
        if (isGenerated(input) && isCode(e, ErrorCode.AlreadyExists) && attempt < 8) continue;
        throw e;
      }
    }
  }

  /**
   * Replaces an object (or its status/scale subresource). With `metadata.resourceVersion` set it is
   * a CAS on that revision; without it, on the revision just read (retried on races).
   */
  async update(resource: string, namespace: string | undefined, name: string, input: KubeObject, o: { dryRun?: boolean; subresource?: Subresource } = {}): Promise<KubeObject> {
    const rt = await this.type(resource);
    const ns = resolveTarget(rt, { namespace, name }, input);
    return this.mutate(rt, ns, name, { type: "replace", object: input }, o);
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
    const rt = await this.type(resource);
    if (rt.custom && patchType === "strategic") {
      throw new FlotillaError(ErrorCode.UnsupportedMediaType, `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
    }
    const ns = namespaceOf(rt, namespace);
    if (patchType === "apply") {
      const existing = await this.objects.read(rt, ns, name);
      if (!existing) {
        const obj = { ...(patch as KubeObject), metadata: { ...(patch as KubeObject).metadata, name } };
        return this.create(resource, namespace, withManagedFields(obj, o.fieldManager, this.now()), { dryRun: o.dryRun });
      }
    }
    const out = await this.mutate(rt, ns, name, { type: "patch", patchType, patch, fieldManager: o.fieldManager }, o);
    return o.subresource === "scale" ? toScale(out) : out;
  }

  /** Read → plan → CAS write, retried when someone else wrote in between (unless the caller pinned a revision). */
  private async mutate(rt: ResourceType, ns: string | undefined, name: string, input: UpdateInput, o: { dryRun?: boolean; subresource?: Subresource }): Promise<KubeObject> {
    const wanted = preconditionOf(input);
    for (let attempt = 0; ; attempt++) {
      const old = await this.objects.read(rt, ns, name);
      if (!old) throw notFound(rt, name);
      if (wanted && wanted !== old.metadata.resourceVersion) throw conflict(rt, name);
      const plan = planUpdate(rt, old, input, { subresource: o.subresource, now: this.now, defaultTolerationSeconds: this.opts.defaultTolerationSeconds });
      if (o.dryRun) return plan.object;
      const expected = Number(old.metadata.resourceVersion);
      try {
        if (plan.action === "remove") return await this.removeObject(rt, old, plan.object, expected);
        return await this.updateObject(rt, old, plan.object, expected);
      } catch (e) {
        if (!wanted && isConflict(e) && attempt < RETRIES) continue;
        throw e;
      }
    }
  }

  async delete(resource: string, namespace: string | undefined, name: string, options: DeleteOptions = {}): Promise<KubeObject> {
    const rt = await this.type(resource);
    const ns = namespaceOf(rt, namespace);
    for (let attempt = 0; ; attempt++) {
      const old = await this.objects.read(rt, ns, name);
      if (!old) throw notFound(rt, name);
      if (options.preconditions?.uid && options.preconditions.uid !== old.metadata.uid) {
        throw conflict(rt, name, `Precondition failed: UID in precondition: ${options.preconditions.uid}, UID in object meta: ${old.metadata.uid}`);
      }
      if (options.preconditions?.resourceVersion && options.preconditions.resourceVersion !== old.metadata.resourceVersion) {
        throw conflict(rt, name, `Precondition failed: ResourceVersion in precondition: ${options.preconditions.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`);
      }
      const plan = planDelete(rt, old, options, this.now());
      if (options.dryRun?.includes("All")) return plan.object;
      const expected = Number(old.metadata.resourceVersion);
      try {
        if (plan.action === "remove") return await this.removeObject(rt, old, plan.object, expected);
        if (plan.action === "mark") return await this.objects.update(rt, plan.object, expected);
        return old;
      } catch (e) {
        if (isConflict(e) && !options.preconditions?.resourceVersion && attempt < RETRIES) continue;
        throw e;
      }
    }
  }

  async bind(namespace: string, name: string, node: string, uid?: string): Promise<KubeObject> {
    const rt = this.rt("pods");
    if (!node) throw invalidField(rt, name, "target.name", "Required value");
    const old = (await this.objects.read(rt, namespace, name)) as Pod | undefined;
    if (!old) throw notFound(rt, name);
    if (uid && old.metadata.uid !== uid) throw conflict(rt, name, "the UID in the binding does not match the pod");
    if (old.spec.nodeName) throw conflict(rt, name, `pod ${name} is already assigned to node "${old.spec.nodeName}"`);
    if (old.metadata.deletionTimestamp) throw conflict(rt, name, `pod ${name} is being deleted, cannot be assigned to a host`);
    const now = timestamp(this.now());
    const conditions = (old.status?.conditions ?? []).filter((c) => c.type !== "PodScheduled");
    conditions.push({ type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: now });
    const next: Pod = { ...old, spec: { ...old.spec, nodeName: node }, status: { ...old.status, conditions } };
    return this.objects.update(rt, next, Number(old.metadata.resourceVersion));
  }

  /**
   * Each bind on its own (read, then compare-and-swap), all at once; one outcome per bind, in order.
   * With `scheduledEvents`, each bound pod's Scheduled Event is written too, after the outcomes are
   * answered (`writeEventLater`): an Event never delays or changes its bind's outcome.
   */
  async bindAll(bindings: Binding[], scheduledEvents?: EventSource): Promise<BindOutcome[]> {
    return Promise.all(
      bindings.map(async (b): Promise<BindOutcome> => {
        let bound: Pod;
        try {
          refuseUnstorable({ type: "bind", ...b });
          bound = (await this.bind(b.namespace, b.name, b.node, b.uid)) as Pod;
        } catch (e) {
          return { ok: false, error: toWireError(e) };
        }
        if (scheduledEvents) this.writeEventLater(scheduledEvent(bound, b.node, scheduledEvents, this.now()));
        return { ok: true, resourceVersion: bound.metadata.resourceVersion! };
      }),
    );
  }

  /**
   * An Event written in the background, a few at a time. Like a recorder's queue, the backlog is
   * bounded: past `EVENT_BACKLOG` waiting, an Event is dropped and counted, never waited for.
   */
  private writeEventLater(ev: Event): void {
    if (this.eventsWaiting >= EVENT_BACKLOG) {
      this.droppedEvents++;
      return;
    }
    this.eventsWaiting++;
    void this.eventWrites
      .run(() => this.create("events", ev.metadata.namespace, ev))
      .catch(() => undefined)
      .finally(() => this.eventsWaiting--);
  }

  async evict(namespace: string, name: string, options: DeleteOptions = {}): Promise<KubeObject> {
    const pod = (await this.objects.read(this.rt("pods"), namespace, name)) as Pod | undefined;
    if (!pod) throw notFound(this.rt("pods"), name);
    if (!options.dryRun?.includes("All")) await chargeBudget(this.nc, this.buckets, this.objects, pod, this.now());
    return this.delete("pods", namespace, name, options);
  }

  /** A pod with its namespace's LimitRange defaults; 403 when it passes a min or max. */
  private limited(rt: ResourceType, ns: string, input: Pod): Pod {
    const ranges = this.opts.limitRanges!.list(ns);
    if (!ranges.length || !input?.spec) return input;
    const { pod, refusals } = limitPod(input, ranges);
    if (refusals.length) {
      const name = input.metadata?.name ?? input.metadata?.generateName ?? "";
      throw new FlotillaError(ErrorCode.Forbidden, `pods "${name}" is forbidden: [${refusals.join(", ")}]`, { details: { name, kind: rt.resource } });
    }
    return pod;
  }

  /** A CRD may not take a plural that a built-in type or another group's CRD already serves. */
  private async checkNames(crd: CustomResourceDefinition): Promise<void> {
    const plural = crd.spec?.names?.plural;
    if (!plural) return;
    await this.customTypes.refresh();
    const taken = resourceType(plural) ?? this.customTypes.catalog.get(plural);
    if (taken && taken.custom?.crd !== crd.metadata.name) {
      throw invalidField(this.rt("customresourcedefinitions"), crd.metadata.name, "spec.names.plural", `Invalid value: "${plural}": is already in use by ${taken.group ? `${taken.resource}.${taken.group}` : taken.resource}`);
    }
  }
}
