/**
 * CustomResourceDefinitions (apiextensions.k8s.io/v1): the wire types and the one function that
 * turns an established CRD into the ResourceType it serves. Pure.
 *
 * @example
 *   const rt = customTypeOf(crd); // undefined until the CRD is Established
 */
import type { KubeObject } from "./resources.ts";
import type { ResourceType, CustomVersion } from "./kinds.ts";

export type JSONSchemaProps = Record<string, unknown>;

export interface CustomResourceColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

export interface CustomResourceDefinitionVersion {
  name: string;
  served: boolean;
  storage: boolean;
  deprecated?: boolean;
  schema?: { openAPIV3Schema?: JSONSchemaProps };
  subresources?: { status?: Record<string, never>; scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string } };
  additionalPrinterColumns?: CustomResourceColumn[];
}

export interface CustomResourceDefinitionNames {
  plural: string;
  singular?: string;
  kind: string;
  listKind?: string;
  shortNames?: string[];
  categories?: string[];
}

export interface CustomResourceDefinitionCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface CustomResourceDefinition extends KubeObject {
  spec: {
    group: string;
    names: CustomResourceDefinitionNames;
    scope: "Namespaced" | "Cluster";
    versions: CustomResourceDefinitionVersion[];
    conversion?: { strategy: "None" | "Webhook" };
    preserveUnknownFields?: boolean;
  };
  status?: {
    conditions?: CustomResourceDefinitionCondition[];
    acceptedNames?: CustomResourceDefinitionNames;
    storedVersions?: string[];
  };
}

/** The finalizer that holds a CRD until its objects are gone (as in Kubernetes). */
export const CRD_CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io";

export function conditionTrue(crd: CustomResourceDefinition, type: string): boolean {
  return (crd.status?.conditions ?? []).some((c) => c.type === type && c.status === "True");
}

/**
 * The type an Established CRD serves (undefined while it is not). A CRD being deleted still
 * serves reads and deletes of its objects (`custom.terminating`) until they are gone.
 */
export function customTypeOf(crd: CustomResourceDefinition): ResourceType | undefined {
  if (!conditionTrue(crd, "Established")) return undefined;
  const { group, names, scope } = crd.spec;
  const served = (crd.spec.versions ?? []).filter((v) => v.served);
  const storage = crd.spec.versions.find((v) => v.storage);
  if (!storage || served.length === 0) return undefined;
  const versions: CustomVersion[] = served.map((v) => ({
    name: v.name,
    ...(v.schema?.openAPIV3Schema ? { schema: v.schema.openAPIV3Schema } : {}),
    printerColumns: (v.additionalPrinterColumns ?? []).map((c) => ({ ...c })),
    ...(v.subresources?.scale ? { scale: { ...v.subresources.scale } } : {}),
  }));
  const subresources: string[] = [];
  if (storage.subresources?.status) subresources.push("status");
  if (storage.subresources?.scale) subresources.push("scale");
  return {
    resource: names.plural,
    singular: names.singular || names.kind.toLowerCase(),
    kind: names.kind,
    group,
    version: storage.name,
    namespaced: scope === "Namespaced",
    shortNames: [...(names.shortNames ?? [])],
    categories: [...(names.categories ?? [])],
    subresources,
    bucket: "main",
    custom: { crd: crd.metadata.name ?? `${names.plural}.${group}`, versions, ...(crd.metadata.deletionTimestamp ? { terminating: true } : {}) },
  };
}

/** The version of a custom type a request names (`rt.version` is the storage one). */
export function customVersion(rt: ResourceType, version: string): CustomVersion | undefined {
  return rt.custom?.versions.find((v) => v.name === version);
}

/** The same type seen at another served version (URL, apiVersion of answers). */
export function atVersion(rt: ResourceType, version: string): ResourceType {
  return rt.version === version ? rt : { ...rt, version };
}

/**
 * An object of a custom type as the version a request named (conversion None: only apiVersion
 * changes). Anything else is answered as it is.
 */
export function asVersion<T extends { apiVersion?: string; kind?: string }>(rt: ResourceType, o: T): T {
  if (!rt.custom || !o || typeof o !== "object" || o.kind !== rt.kind) return o;
  const apiVersion = `${rt.group}/${rt.version}`;
  return o.apiVersion === apiVersion ? o : { ...o, apiVersion };
}
