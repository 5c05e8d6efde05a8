/**
 * The api-server actor: a Kubernetes-compatible HTTPS gateway in front of the store protocol.
 * Not leader-elected — any number may run. One watch cache per resource type feeds every HTTP
 * watcher of this process.
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: apiServer, opts: { port: 6443, dataDir } }] });
 */
import type { ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { AddressInfo } from "node:net";
import type { WatchCache } from "./watch-cache.ts";
import type { User } from "./auth.ts";
import type { HttpLimitOptions } from "./limits.ts";
import type { Socket } from "node:net";
import type { Service } from "../../bus/resources.ts";
import { createServer } from "node:https";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { RESOURCE_TYPES } from "../../bus/kinds.ts";
import { ensurePki, ensureServingCert, podFacingAddresses } from "./certs.ts";
import { servePodTokens } from "./pod-tokens.ts";
import { DEFAULT_AUDIT_POLICY, openAuditLog, parseAuditPolicy } from "./audit.ts";
import { encryptionConfigPath, followEncryptionConfig } from "../store/encryption-config.ts";
import { startRootCaPublisher } from "../root-ca-publisher/index.ts";
import { ensureTokens } from "./tokens.ts";
import { loadTokenFile } from "./auth.ts";
import { startWatchCache } from "./watch-cache.ts";
import { startCustomTypes } from "./custom-types.ts";
import { createHandler } from "./server.ts";
import { createUpgradeHandler } from "./upgrade.ts";
import { cacheView } from "./rbac/cache-view.ts";
import { serviceAccountAuthenticator } from "./token-request.ts";
import { registerServiceEndpoint, kubernetesService } from "../../runtime/service-registration.ts";
import { httpLimits } from "./limits.ts";
import { httpStatus, encodeJson } from "./status.ts";
import { bootstrapPolicy } from "./rbac/bootstrap.ts";
import { startMetricsFeed } from "../../runtime/metrics-feed.ts";
import { DEFAULT_CLUSTER_ROLE_BINDINGS } from "./rbac/bootstrap-policy.ts";

/** Resolves once the cache holds every key (or after 10 s: serving a little early only refuses, never over-grants). */
async function untilCached(cache: WatchCache, keys: string[], signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!keys.every((k) => cache.objects.has(k)) && Date.now() < deadline && !signal.aborted) {
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface ApiServerOptions extends HttpLimitOptions {
  /** Default 6443; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  dataDir: string;
  /** Default `<dataDir>/tokens.csv` (created with an admin and a view token on first start). */
  tokenFile?: string;
  /** The address in-cluster clients reach this server at (the `default/kubernetes` Endpoints); default `host`, or 127.0.0.1 for a wildcard host. */
  advertiseAddress?: string;
  /** The `default/kubernetes` Service's ClusterIP to ask for when it is created (10.96.0.1 in pod mode); default: allocated. */
  kubernetesClusterIP?: string;
  /** The clock tokens are issued and checked by (default the host's); specs move it to see tokens expire. */
  now?: () => number;
  /** The EncryptionConfiguration whose keys open encrypted values (default `<dataDir>/encryption-config.yaml`, when present). */
  encryptionConfig?: string;
  /** The audit log (default `<dataDir>/audit.log`, 0600); "" for none. */
  auditLog?: string;
  /** An audit Policy file (default `<dataDir>/audit-policy.yaml` when present, else every request but health checks at Metadata). */
  auditPolicy?: string;
}

export interface ApiServer extends Actor {
  readonly port: number;
  readonly url: string;
}

export const apiServer: ActorDefinition<ApiServerOptions> = {
  kind: "api-server",
  async start(ctx, opts): Promise<ApiServer> {
    const pki = ensurePki(opts.dataDir, ctx.log);
    const now = opts.now ?? ctx.now;
    // Secrets are encrypted at rest: this server's watch caches read them from KV with the data dir's keys.
    const encryptionFile = opts.encryptionConfig ?? encryptionConfigPath(opts.dataDir);
    const encryption = existsSync(encryptionFile) ? followEncryptionConfig(encryptionFile, ctx.log) : undefined;
    const auditPolicyFile = opts.auditPolicy ?? join(opts.dataDir, "audit-policy.yaml");
    const auditLogPath = opts.auditLog ?? join(opts.dataDir, "audit.log");
    const audit = auditLogPath ? openAuditLog({ path: auditLogPath, policy: existsSync(auditPolicyFile) ? parseAuditPolicy(readFileSync(auditPolicyFile, "utf8")) : DEFAULT_AUDIT_POLICY }) : undefined;
    // ServiceAccount tokens are signed with the cluster CA's key, kept with the CA.
    const serviceAccountKeys = { privateKey: createPrivateKey(readFileSync(join(opts.dataDir, "pki", "ca.key"), "utf8")), publicKey: new X509Certificate(pki.caPem).publicKey };
    const tokenFile = opts.tokenFile ?? ensureTokens(opts.dataDir, ctx.log).path;
    // The token file is re-read when it changes, so tokens can be added without a restart.
    let users = new Map<string, User>();
    let loadedAt = -1;
    const currentUsers = () => {
      const m = existsSync(tokenFile) ? statSync(tokenFile).mtimeMs : -1;
      if (m !== loadedAt) {
        try {
          users = m < 0 ? new Map() : loadTokenFile(tokenFile);
          loadedAt = m;
        } catch (e) {
          // Unreadable for now (replaced while we looked): keep the users we had, try again next time.
          ctx.log.warn("cannot read the token file", { path: tokenFile, error: (e as Error).message });
        }
      }
      return users;
    };
    currentUsers();

    const feeds = await Promise.all(
      RESOURCE_TYPES.map(async (rt) => [rt.resource, await startWatchCache(ctx.nc, ctx.cluster, rt, ctx.log)] as const),
    );
    const caches = new Map<string, WatchCache>(feeds.map(([r, f]) => [r, f.cache]));
    await bootstrapPolicy(ctx.store, ctx.log);
    // Serve only once this server's caches hold the default bindings (the view group's, above all).
    await untilCached(caches.get("clusterrolebindings")!, DEFAULT_CLUSTER_ROLE_BINDINGS.map((b) => `/${b.metadata.name}`), ctx.signal);
    const custom = await startCustomTypes({ nc: ctx.nc, cluster: ctx.cluster, log: ctx.log, caches });

    const metrics = startMetricsFeed({ nc: ctx.nc, subjects: ctx.subjects, log: ctx.log });
    const host = opts.host ?? "127.0.0.1";
    let port = 0;
    const limits = httpLimits(opts);
    // Client certificates are asked for, not required: one the cluster CA signed authenticates its CN (auth.ts).
    const server = createServer({ cert: pki.certPem, key: pki.keyPem, ca: pki.caPem, requestCert: true, rejectUnauthorized: false, maxHeaderSize: limits.maxHeaderBytes });
    server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => answerClientError(err, socket, limits.maxHeaderBytes));
    server.on(
      "request",
      createHandler({
        nc: ctx.nc,
        cluster: ctx.cluster,
        store: ctx.store,
        log: ctx.log,
        now,
        users: currentUsers,
        cacheFor: (r) => caches.get(r),
        catalog: custom.catalog,
        metrics,
        address: () => `${host}:${port}`,
        limits,
        serviceAccountKeys,
        ...(audit ? { audit } : {}),
      }),
    );
    const cacheFor = (r: string) => caches.get(r);
    const upgrades = createUpgradeHandler({
      nc: ctx.nc,
      cluster: ctx.cluster,
      store: ctx.store,
      log: ctx.log,
      users: currentUsers,
      rbac: cacheView(cacheFor),
      ...(serviceAccountKeys ? { tokens: serviceAccountAuthenticator(serviceAccountKeys, cacheFor, now) } : {}),
    });
    server.on("upgrade", upgrades.handle);
    server.keepAliveTimeout = 65_000;
    server.requestTimeout = 0; // watches and log follows are long-lived; the handler times the others
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 6443, host, () => resolve());
    });
    port = (server.address() as AddressInfo).port;
    const url = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
    ctx.log.info("api-server listening", { url });
    const advertise = opts.advertiseAddress ?? (host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host);
    // Kubelets' tokens for their pods' projected ServiceAccount volumes, and the CA those pods trust.
    const podTokens = servePodTokens({ nc: ctx.nc, subjects: ctx.subjects, store: ctx.store, keys: serviceAccountKeys, now, log: ctx.log });
    const rootCa = await startRootCaPublisher(ctx, { caCert: pki.caPem });
    const registration = await registerServiceEndpoint({ store: ctx.store, log: ctx.log, now: ctx.now, service: kubernetesService(port, opts.kubernetesClusterIP), address: advertise, ports: [port] });
    // Pods verify this server at the kubernetes Service's ClusterIP and the advertised address: the certificate names them.
    const serving = ensureServingCert(opts.dataDir, podFacingAddresses(await ctx.store.get<Service>("services", "default", "kubernetes").catch(() => undefined), advertise));
    if (serving.issued) server.setSecureContext({ cert: serving.certPem, key: serving.keyPem, ca: pki.caPem });
    return {
      port,
      url,
      async stop() {
        await registration.stop();
        podTokens.unsubscribe();
        encryption?.stop();
        await audit?.close();
        await rootCa.stop();
        for (const [, f] of feeds) f.stop();
        upgrades.stop();
        custom.stop();
        metrics.stop();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      },
    };
  },
};

/**
 * A request Node's parser refused before a handler could answer it (oversized headers, a
 * malformed request line, a connection that ends mid-body, bytes that are not HTTP) still gets a
 * Kubernetes Status. The connection then closes; what the client still sends is read and dropped
 * for a moment first, so that closing does not reset the connection before the answer is read.
 */
const answered = new WeakSet<Socket>();

function answerClientError(err: NodeJS.ErrnoException, socket: Socket, maxHeaderBytes: number): void {
  // Node may report the same broken request more than once: the first report is answered.
  if (answered.has(socket)) return;
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent: boolean } })._httpMessage;
  if (err.code === "ECONNRESET" || !socket.writable || inFlight?.headersSent) return void socket.destroy();
  const [code, text, message]: [number, string, string] =
    err.code === "HPE_HEADER_OVERFLOW"
      ? [431, "Request Header Fields Too Large", `the request line and headers are larger than ${maxHeaderBytes} bytes`]
      : err.code === "HPE_INVALID_EOF_STATE"
        ? [400, "Bad Request", "the request was cut short: the connection ended before the whole request arrived"]
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? [408, "Request Timeout", "the request headers did not arrive in time"]
          : err.code?.startsWith("ERR_SSL_")
            ? [401, "Unauthorized", "Unauthorized"] // a client certificate that does not verify (another CA)
          : [400, "Bad Request", `malformed HTTP request: ${err.message}${err.code ? ` (${err.code})` : ""}`];
  const body = encodeJson(httpStatus(code, message));
  answered.add(socket);
  socket.end(`HTTP/1.1 ${code} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  const t = setTimeout(() => socket.destroy(), 2000).unref();
  socket.on("data", () => undefined).resume();
  socket.once("end", () => socket.destroy());
  socket.once("close", () => clearTimeout(t));
}
