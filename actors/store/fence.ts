/**
 * The store's half of leader fencing (bus/fence.ts): a write that carries a fence is carried out
 * only while the Lease it names still has that holder at that term. A leader's write delayed past
 * the end of its term — held by a frozen network or sent from a reconnect buffer — is refused
 * once another replica has taken the Lease (or it was released).
 */
import type { Lease } from "../../bus/resources.ts";
import type { StoreRequest } from "../../bus/store-protocol.ts";
import type { Store } from "./store.ts";
import { ErrorCode, FlotillaError, isCode } from "../../bus/errors.ts";
import { LEADER_NAMESPACE, fenceProblem } from "../../bus/fence.ts";
import { isStoreWrite } from "../../bus/store-protocol.ts";

/** Decoding: a fence, when present, is well formed (and only on writes). */
export function validateFence(req: StoreRequest): void {
  const f = (req as { fence?: unknown }).fence;
  if (f === undefined) return;
  if (!isStoreWrite(req)) throw new FlotillaError(ErrorCode.Invalid, `a ${req.type} request takes no fence`);
  const problem = fenceProblem(f);
  if (problem) throw new FlotillaError(ErrorCode.Invalid, problem);
}

/** Throws Conflict unless the fenced lease term is still current. Unfenced requests pass. */
export async function checkFence(store: Store, req: StoreRequest): Promise<void> {
  if (!isStoreWrite(req) || !req.fence) return;
  const { lease, holder, term } = req.fence;
  let current: Lease | undefined;
  try {
    current = (await store.get("leases", LEADER_NAMESPACE, lease)) as Lease;
  } catch (e) {
    if (!isCode(e, ErrorCode.NotFound)) throw e;
  }
  const now = current ? `${current.spec.holderIdentity || "nobody"} (term ${current.spec.leaseTransitions ?? 0})` : "nobody (no lease)";
  if (current?.spec.holderIdentity !== holder || (current.spec.leaseTransitions ?? 0) !== term) {
    throw new FlotillaError(ErrorCode.Conflict, `refused: ${holder} wrote as leader in term ${term} of lease ${LEADER_NAMESPACE}/${lease}, which is now held by ${now}`);
  }
}
