/** What every component is: an actor started by the host with a context. */
import type { NatsConnection } from "@nats-io/transport-node";
import type { Subjects } from "../bus/subjects.ts";
import type { StoreClient } from "../bus/store-client.ts";
import type { Logger } from "./logger.ts";
import type { BusIdentity } from "./cluster/credentials.ts";

export interface ActorContext {
  nc: NatsConnection;
  cluster: string;
  subjects: Subjects;
  /** For a leader-elected actor, fenced to its term: writes carry the fence, and fail once the term is over. */
  store: StoreClient;
  kind: string;
  id: string;
  host: string;
  version: string;
  log: Logger;
  /** Aborted when the actor is being stopped; for a leader-elected actor, also the moment its term ends. */
  signal: AbortSignal;
  now: () => number;
  /** For a leader-elected actor: its term is still running (always true for other actors). */
  isLeader: () => boolean;
  /** Report a fatal error: the supervisor stops this instance and restarts it with back-off. */
  crash: (e: unknown) => void;
}

export interface Actor {
  stop(): Promise<void>;
}

export interface ActorDefinition<O = Record<string, unknown>> {
  kind: string;
  /** Started only while this replica holds the Lease `kube-system/<kind>` (several replicas may run). */
  leaderElected?: boolean;
  /** NATS connection name (default `<kind>/<id>`); kubelets use `kubelet/<nodeName>`. */
  connectionName?: (opts: O, id: string) => string;
  /**
   * Who the actor is on the bus (default control): the NATS user it connects as and, for a node,
   * the store subjects it must use (`…store.node.<name>.*`, see actors/store/node-restriction.ts).
   */
  identity?: (opts: O) => BusIdentity;
  /** Extra NATS connection options (a kubelet pings often so a frozen one is noticed fast). */
  connectOptions?: { pingInterval?: number; maxPingOut?: number };
  start(ctx: ActorContext, opts: O): Promise<Actor>;
}

export const VERSION = "0.1.0";

/** For type-erased lists of actors with their options. */
export interface ActorSpec {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  def: ActorDefinition<any>;
  opts?: Record<string, unknown>;
}
