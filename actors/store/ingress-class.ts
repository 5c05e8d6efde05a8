/**
 * Kubernetes' DefaultIngressClass admission (pure): an Ingress created without
 * `spec.ingressClassName` gets the class marked `ingressclass.kubernetes.io/is-default-class:
 * "true"`; with several marked, the most recently created one (as Kubernetes 1.28+ chooses).
 *
 * @example
 *   withDefaultIngressClass(ingress, classes.list()).spec.ingressClassName // "flotilla"
 */
import type { Ingress, IngressClass } from "../../bus/networking.ts";
import { DEFAULT_INGRESS_CLASS_ANNOTATION } from "../../bus/networking.ts";

export function defaultIngressClass(classes: readonly IngressClass[]): IngressClass | undefined {
  const marked = classes.filter((c) => c.metadata.annotations?.[DEFAULT_INGRESS_CLASS_ANNOTATION] === "true" && !c.metadata.deletionTimestamp);
  return marked.sort((a, b) => Date.parse(b.metadata.creationTimestamp ?? "") - Date.parse(a.metadata.creationTimestamp ?? "") || String(a.metadata.name).localeCompare(String(b.metadata.name)))[0];
}

/** The ingress (a copy when changed) with the default class filled in when it names none. */
export function withDefaultIngressClass(ingress: Ingress, classes: readonly IngressClass[]): Ingress {
  if (ingress.spec?.ingressClassName) return ingress;
  // The legacy annotation still names a class: Kubernetes leaves such an Ingress alone.
  if (ingress.metadata?.annotations?.["kubernetes.io/ingress.class"]) return ingress;
  const d = defaultIngressClass(classes);
  if (!d) return ingress;
  return { ...ingress, spec: { ...ingress.spec, ingressClassName: d.metadata.name } };
}
