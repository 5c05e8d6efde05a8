/**
 * Creating a ControllerRevision as the DaemonSet and StatefulSet controllers do: an `AlreadyExists`
 * is either ours (the cache was behind: look again soon) or a hash collision, which bumps the
 * owner's `status.collisionCount` so the next pass picks a new name.
 */
import type { ControllerRevision, DaemonSet, StatefulSet } from "../../bus/resources.ts";
import type { StoreClient } from "../../bus/store-client.ts";
import { ErrorCode, isCode } from "../../bus/errors.ts";
import { controllerRef } from "../../bus/owners.ts";
import { matchesTemplate } from "./revisions.ts";

export interface RevisionCreated<O> {
  /** The owner after a collisionCount bump. */
  owner?: O;
  /** Look at the key again soon (the revision exists, or its name will change). */
  again: boolean;
}

export async function createRevision<O extends DaemonSet | StatefulSet>(store: StoreClient, resource: "daemonsets" | "statefulsets", owner: O, revision: ControllerRevision): Promise<RevisionCreated<O>> {
  const ns = owner.metadata.namespace!;
  try {
    await store.create("controllerrevisions", ns, revision);
    return { again: false };
  } catch (e) {
    if (!isCode(e, ErrorCode.AlreadyExists)) throw e;
  }
  const existing = await store.get<ControllerRevision>("controllerrevisions", ns, revision.metadata.name!);
  if (controllerRef(existing)?.uid === owner.metadata.uid && matchesTemplate(existing, owner.spec.template)) return { again: true };
  const status = { ...owner.status!, collisionCount: (owner.status?.collisionCount ?? 0) + 1 };
  return { owner: await store.updateStatus<O>(resource, { ...owner, status }), again: true };
}
