/**
 * Static pods (pure): a pod manifest file on the node becomes a pod this kubelet runs without any
 * API, as the real kubelet's `staticPodPath` does. The pod is named `<name>-<nodeName>`, its uid is
 * a hash of the manifest and the node (an edited manifest is a new pod; an unchanged one keeps its
 * containers across kubelet restarts), and once the API can be reached it is published as a
 * read-only *mirror pod* carrying the same hash.
 *
 *   manifest text ── parseManifest ──▶ staticPod(manifest, node) ──▶ NodeAgent runs it
 *                                              └── mirrorPodOf(pod, node) ──▶ store (decideMirror)
 *
 * @example
 *   const m = parseManifest(readFileSync("etcd.yaml", "utf8"));
 *   if (m.ok) agentPods.set(key, staticPod(m.manifest, "n1"));
 */
import type { Pod, Node } from "../../bus/resources.ts";
import { createHash } from "node:crypto";
import { parseAllDocuments } from "yaml";

/** On a mirror pod: the static pod's hash (kubelet/types: ConfigMirrorAnnotationKey). */
export const MIRROR_ANNOTATION = "kubernetes.io/config.mirror";
/** Where a pod came from: `file` for manifests (ConfigSourceAnnotationKey). */
export const SOURCE_ANNOTATION = "kubernetes.io/config.source";
/** The static pod's hash (ConfigHashAnnotationKey). */
export const HASH_ANNOTATION = "kubernetes.io/config.hash";
export const FILE_SOURCE = "file";

/** Manifest files the kubelet reads: YAML or JSON, not hidden (editors' swap files start with a dot). */
export function isManifestFile(name: string): boolean {
  return !name.startsWith(".") && /\.(ya?ml|json)$/i.test(name);
}

export type ParsedManifest = { ok: true; manifest: Pod } | { ok: false; error: string };

/** One pod per file: a `v1` `Pod` with a name and at least one container. */
export function parseManifest(text: string): ParsedManifest {
  let docs: unknown[];
  try {
    const parsed = parseAllDocuments(text);
    const all = Array.isArray(parsed) ? parsed : [parsed];
    const bad = all.find((d) => d.errors.length > 0);
    if (bad) return { ok: false, error: bad.errors[0]!.message };
    docs = all.map((d) => d.toJS() as unknown).filter((d) => d !== null && d !== undefined);
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
  if (docs.length !== 1) return { ok: false, error: `a static pod manifest holds exactly one pod, found ${docs.length} documents` };
  const doc = docs[0] as Partial<Pod> | null;
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return { ok: false, error: "not an object" };
  if (doc.kind !== "Pod" || (doc.apiVersion ?? "v1") !== "v1") return { ok: false, error: `kind ${String(doc.apiVersion)}/${String(doc.kind)} is not a v1 Pod` };
  if (typeof doc.metadata?.name !== "string" || doc.metadata.name === "") return { ok: false, error: "metadata.name is required" };
  if (!Array.isArray(doc.spec?.containers) || doc.spec.containers.length === 0) return { ok: false, error: "spec.containers is required" };
  for (const c of [...doc.spec.containers, ...(doc.spec.initContainers ?? [])]) {
    if (typeof c?.name !== "string" || c.name === "") return { ok: false, error: "every container needs a name" };
  }
  return { ok: true, manifest: doc as Pod };
}

/** A stable JSON (sorted keys) so that reformatting a manifest does not change its hash. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/** The static pod's hash: of its manifest, the node and the source (as the kubelet's file source does). */
export function staticPodHash(manifest: Pod, nodeName: string): string {
  return createHash("md5").update(canonical(manifest)).update(`\0${nodeName}\0${FILE_SOURCE}`).digest("hex");
}

/** The pod this node runs for a manifest: renamed, bound here, with its hash as uid (as the kubelet's file source does). */
export function staticPod(manifest: Pod, nodeName: string): Pod {
  const hash = staticPodHash(manifest, nodeName);
  const m = structuredClone(manifest);
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `${m.metadata.name}-${nodeName}`,
      namespace: m.metadata.namespace || "default",
      uid: hash,
      labels: m.metadata.labels,
      annotations: { ...(m.metadata.annotations ?? {}), [HASH_ANNOTATION]: hash, [SOURCE_ANNOTATION]: FILE_SOURCE },
    },
    spec: {
      ...m.spec,
      nodeName,
      restartPolicy: m.spec.restartPolicy ?? "Always",
      terminationGracePeriodSeconds: m.spec.terminationGracePeriodSeconds ?? 30,
    },
  };
}

/** A pod the kubelet runs from a file (not its mirror). */
export function isStaticPod(pod: Pod): boolean {
  const a = pod.metadata.annotations ?? {};
  return a[SOURCE_ANNOTATION] === FILE_SOURCE && a[MIRROR_ANNOTATION] === undefined && a[HASH_ANNOTATION] === pod.metadata.uid;
}

export function isMirrorPod(pod: Pod): boolean {
  return pod.metadata.annotations?.[MIRROR_ANNOTATION] !== undefined;
}

/** The mirror pod of this static pod is this stored pod (same hash, not being deleted). */
export function mirrors(stored: Pod, pod: Pod): boolean {
  return stored.metadata.annotations?.[MIRROR_ANNOTATION] === pod.metadata.uid && !stored.metadata.deletionTimestamp;
}

/** What is created in the store for a static pod: the same pod, read-only, owned by the Node. */
export function mirrorPodOf(pod: Pod, node: Pick<Node, "metadata">): Pod {
  const hash = pod.metadata.uid!;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: pod.metadata.name,
      namespace: pod.metadata.namespace,
      labels: pod.metadata.labels,
      annotations: { ...(pod.metadata.annotations ?? {}), [MIRROR_ANNOTATION]: hash },
      ownerReferences: [{ apiVersion: "v1", kind: "Node", name: node.metadata.name!, uid: node.metadata.uid!, controller: true }],
    },
    spec: structuredClone(pod.spec),
  };
}

export type MirrorAction =
  | { type: "none" }
  | { type: "create" }
  | { type: "delete"; uid: string; recreate: boolean }
  /** A pod that is not a mirror holds the static pod's name: nothing is published (the kubelet logs it). */
  | { type: "nameTaken" };

/**
 * The mirror pod a static pod needs, given what the store holds under its name: created when
 * missing; deleted and created again when it was deleted through the API, or shows an older
 * manifest; deleted when the manifest is gone.
 */
export function decideMirror(pod: Pod | undefined, stored: Pod | undefined): MirrorAction {
  if (!stored) return pod ? { type: "create" } : { type: "none" };
  if (!isMirrorPod(stored)) return pod ? { type: "nameTaken" } : { type: "none" };
  if (!pod) return { type: "delete", uid: stored.metadata.uid!, recreate: false };
  return mirrors(stored, pod) ? { type: "none" } : { type: "delete", uid: stored.metadata.uid!, recreate: true };
}
