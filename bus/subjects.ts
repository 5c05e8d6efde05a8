/**
 * The only place a NATS subject (or bucket name) is built. Every subject starts with
 * `flotilla.<cluster>.` so several clusters can share one NATS network.
 *
 * @example
 *   const s = subjects("default");
 *   s.store("create")          // "flotilla.default.store.create"
 *   s.nodeVerb("n1", "logs")   // "flotilla.default.node.n1.logs"
 */
export const DEFAULT_CLUSTER = "default";

export const StoreVerb = {
  get: "get",
  list: "list",
  create: "create",
  update: "update",
  patch: "patch",
  delete: "delete",
  bind: "bind",
  bindAll: "bindAll",
  evict: "evict",
  status: "status",
} as const;
export type StoreVerb = (typeof StoreVerb)[keyof typeof StoreVerb];

export const NodeVerb = { logs: "logs", stats: "stats", session: "session" } as const;
export type NodeVerb = (typeof NodeVerb)[keyof typeof NodeVerb];

/**
 * Encodes a NATS token (and KV key token): object names may contain `.` but never `_`, so `.`→`_`
 * is reversible; RBAC names may contain `:` (`system:masters`) but never `=`, so `:`→`=` is too.
 */
export function encodeToken(name: string): string {
  return name.replaceAll(".", "_").replaceAll(":", "=");
}
export function decodeToken(token: string): string {
  return token.replaceAll("_", ".").replaceAll("=", ":");
}

export const CLUSTER_SCOPE_TOKEN = "_";

/** JetStream KV's own subjects: every key of a bucket is `$KV.<bucket>.<key>`. */
export function kvPrefix(bucket: string): string {
  return `$KV.${bucket}.`;
}
export function kvKeySubject(bucket: string, key: string): string {
  return `${kvPrefix(bucket)}${key}`;
}

/** Reply inboxes: request/reply, streamed replies and JetStream deliveries. */
export const INBOX_ALL = "_INBOX.>";
/** JetStream KV's write subjects: publishing here writes a key. */
export const KV_ALL = "$KV.>";

/**
 * JetStream API subjects (`$JS.API.…`), for permissions: the store may use all of it; readers
 * (informers) only what a KV watch sends — account info, stream info, ephemeral consumers and the
 * next message under a filter (a watch's sync check, bus/kv.ts) on the cluster's buckets — plus
 * flow-control replies. A reader that may create consumers with any filter reads no more with
 * the message get.
 */
export const jsApi = {
  all: () => "$JS.API.>",
  info: () => "$JS.API.INFO",
  streamInfo: (stream: string) => `$JS.API.STREAM.INFO.${stream}`,
  streamMsgGet: (stream: string) => `$JS.API.STREAM.MSG.GET.${stream}`,
  consumerCreate: (stream: string) => [`$JS.API.CONSUMER.CREATE.${stream}`, `$JS.API.CONSUMER.CREATE.${stream}.>`],
  consumerInfo: (stream: string) => `$JS.API.CONSUMER.INFO.${stream}.*`,
  consumerDelete: (stream: string) => `$JS.API.CONSUMER.DELETE.${stream}.*`,
  streamDelete: (stream: string) => `$JS.API.STREAM.DELETE.${stream}`,
  streamPurge: (stream: string) => `$JS.API.STREAM.PURGE.${stream}`,
  flowControl: () => "$JS.FC.>",
  acks: () => "$JS.ACK.>",
  /** A JetStream API subject as a leaf node sends it to the servers' domain (`$JS.<domain>.API.…`). */
  inDomain: (domain: string, apiSubject: string) => apiSubject.replace(/^\$JS\.API\./, `$JS.${domain}.API.`),
} as const;

export function subjects(cluster: string = DEFAULT_CLUSTER) {
  const root = `flotilla.${cluster}`;
  const buckets = { main: `flotilla-${cluster}`, events: `flotilla-${cluster}-events`, leases: `flotilla-${cluster}-leases`, servers: `flotilla-${cluster}-servers` };
  const kvStream = (bucket: string) => `KV_${bucket}`;
  return {
    root,
    cluster,
    store: (verb: StoreVerb) => `${root}.store.${verb}`,
    storeAll: () => `${root}.store.*`,
    storeQueue: () => `${root}.store`,
    /**
     * A node's store requests: `…store.node.<node>.<verb>`. Only that node's NATS user may publish
     * here, so the store knows the caller from the subject (NodeRestriction, actors/store).
     */
    storeAsNode: (node: string, verb: StoreVerb) => `${root}.store.node.${encodeToken(node)}.${verb}`,
    storeAsNodeAll: (node: string) => `${root}.store.node.${encodeToken(node)}.*`,
    storeAsAnyNode: () => `${root}.store.node.*.*`,
    storeNodePrefix: () => `${root}.store.node.`,
    /** Everything of one node's own protocol (`logs`, `stats`). */
    nodeAll: (node: string) => `${root}.node.${encodeToken(node)}.>`,
    /** Every subject of this cluster. */
    all: () => `${root}.>`,
    nodeVerb: (node: string, verb: NodeVerb) => `${root}.node.${encodeToken(node)}.${verb}`,
    nodeQueue: (node: string) => `${root}.node.${encodeToken(node)}`,
    actorsPing: () => `${root}.actors.ping`,
    /** A kubelet's periodic resource usage report (bus/metrics.ts); only that node publishes it. */
    nodeMetrics: (node: string) => `${root}.metrics.${encodeToken(node)}`,
    nodeMetricsAll: () => `${root}.metrics.*`,
    /** One exec / attach / port-forward session's two directions (see bus/session-protocol.ts). */
    session: (id: string, direction: "in" | "out") => `${root}.session.${encodeToken(id)}.${direction}`,
    /** A new server announces its route address to the cluster it joins. */
    serversJoin: () => `${root}.servers.join`,
    /** A worker asks for its node's NATS credentials (the only subject the join user may publish on). */
    nodesJoin: () => `${root}.nodes.join`,
    /**
     * A kubelet asks an api-server for a ServiceAccount token bound to one of its pods. Only that
     * node's NATS user may publish here, so the api-server knows the node from the subject.
     */
    podTokenForNode: (node: string) => `${root}.tokens.node.${encodeToken(node)}`,
    podTokenAnyNode: () => `${root}.tokens.node.*`,
    podTokenPrefix: () => `${root}.tokens.node.`,
    /**
     * What the NATS cluster says about itself (meta leader and peers), and removing a lost server
     * from the JetStream meta group. The node controller answers both: it alone holds the system
     * account. Only the admin and store users may ask (bus/cluster-protocol.ts).
     */
    clusterJetStream: () => `${root}.cluster.jetstream`,
    clusterPeerRemove: () => `${root}.cluster.peers.remove`,
    clusterAll: () => `${root}.cluster.>`,
    /**
     * A store replica forwards a replicated bucket's compare-and-swap writes to the bucket's single
     * writer (actors/store/kv-writer.ts), the store replica beside the NATS server `server` that
     * leads the bucket's stream. Only store users may publish here.
     */
    kvWrite: (bucket: string, server: string) => `${root}.kvwrite.${bucket}.${encodeToken(server)}`,
    kvWriteAll: () => `${root}.kvwrite.>`,
    /** Mirror of every stored write (the bucket's republish), for any NATS client. */
    events: (resource = "*", namespace = "*", name = ">") =>
      `${root}.events.${resource}.${namespace === "" ? CLUSTER_SCOPE_TOKEN : namespace}.${name === ">" || name === "*" ? name : encodeToken(name)}`,
    eventsAll: () => `${root}.events.>`,
    eventsPrefix: () => `${root}.events.`,
    /** KV bucket names (one per cluster, plus a short-lived one for Event objects and one for Leases). */
    bucket: () => buckets.main,
    eventsBucket: () => buckets.events,
    leasesBucket: () => buckets.leases,
    /** The servers' registry and the encrypted bootstrap data (CA, tokens) joining servers fetch. */
    serversBucket: () => buckets.servers,
    /** The republish source for a bucket (JetStream KV subjects). */
    kvSubjects: (bucket: string) => kvKeySubject(bucket, ">"),
    kvPrefix,
    kvStream,
    /** The streams of this cluster's buckets: main, events, leases, and the servers' registry (made by clustered servers only). */
    kvStreams: () => Object.values(buckets).map(kvStream),
    /** What the stream of each of this cluster's buckets begins with (`KV_flotilla-<cluster>…`). */
    kvStreamsPrefix: () => `KV_flotilla-${cluster}`,
    /** NATS system-account connection advisories (node controller's fast signal). */
    sysDisconnect: (account: string) => `$SYS.ACCOUNT.${account}.DISCONNECT`,
    sysConnect: (account: string) => `$SYS.ACCOUNT.${account}.CONNECT`,
    /** Every server's JetStream report (system account; meta leader, peers). */
    sysJsz: () => `$SYS.REQ.SERVER.PING.JSZ`,
    /** Every server's leaf-node connections (system account). */
    sysLeafz: () => `$SYS.REQ.SERVER.PING.LEAFZ`,
    /** Every server's client connections (system account). */
    sysConnz: () => `$SYS.REQ.SERVER.PING.CONNZ`,
    /** Removes a lost server from the JetStream meta group (system account). */
    jsPeerRemove: () => `$JS.API.SERVER.REMOVE`,
    /** Asks a stream's leader to step down (the stream's account). */
    jsStreamStepdown: (stream: string) => `$JS.API.STREAM.LEADER.STEPDOWN.${stream}`,
    /** Asks the meta leader to step down (system account). */
    jsMetaStepdown: () => `$JS.API.META.LEADER.STEPDOWN`,
  };
}
export type Subjects = ReturnType<typeof subjects>;
