/** Adopting and releasing objects: a copy of an object with other ownerReferences (cache objects are never mutated). */
import type { KubeObject, OwnerReference } from "../../bus/resources.ts";

export function withOwnerRefs<T extends KubeObject>(o: T, refs: OwnerReference[]): T {
  const copy = structuredClone(o);
  if (refs.length > 0) copy.metadata.ownerReferences = refs;
  else delete copy.metadata.ownerReferences;
  return copy;
}
