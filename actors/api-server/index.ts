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
import { createServer } from "node:https";
import { existsSync, statSync } from "node:fs";
import { RESOURCE_TYPES } from "../../bus/kinds.ts";
import { ensurePki } from "./certs.ts";
import { ensureTokens } from "./tokens.ts";
import { loadTokenFile } from "./auth.ts";
import { startWatchCache } from "./watch-cache.ts";
import { createHandler } from "./server.ts";

export interface ApiServerOptions {
  /** Default 6443; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  dataDir: string;
  /** Default `<dataDir>/tokens.csv` (created with an admin and a view token on first start). */
  tokenFile?: string;
}

export interface ApiServer extends Actor {
  readonly port: number;
  readonly url: string;
}

export const apiServer: ActorDefinition<ApiServerOptions> = {
  kind: "api-server",
  async start(ctx, opts): Promise<ApiServer> {
    const pki = ensurePki(opts.dataDir);
    const tokenFile = opts.tokenFile ?? ensureTokens(opts.dataDir).path;
    // The token file is re-read when it changes, so tokens can be added without a restart.
    let users = new Map<string, User>();
    let loadedAt = -1;
    const currentUsers = () => {
      const m = existsSync(tokenFile) ? statSync(tokenFile).mtimeMs : -1;
      if (m !== loadedAt) {
        users = m < 0 ? new Map() : loadTokenFile(tokenFile);
        loadedAt = m;
      }
      return users;
    };
    currentUsers();

    const feeds = await Promise.all(
      RESOURCE_TYPES.map(async (rt) => [rt.resource, await startWatchCache(ctx.nc, ctx.cluster, rt, ctx.log)] as const),
    );
    const caches = new Map<string, WatchCache>(feeds.map(([r, f]) => [r, f.cache]));

    const host = opts.host ?? "127.0.0.1";
    let port = 0;
    const server = createServer({ cert: pki.certPem, key: pki.keyPem });
    server.on(
      "request",
      createHandler({
        nc: ctx.nc,
        cluster: ctx.cluster,
        store: ctx.store,
        log: ctx.log,
        now: ctx.now,
        users: currentUsers,
        cacheFor: (r) => caches.get(r),
        address: () => `${host}:${port}`,
      }),
    );
    server.keepAliveTimeout = 65_000;
    server.requestTimeout = 0; // watches and log follows are long-lived
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 6443, host, () => resolve());
    });
    port = (server.address() as AddressInfo).port;
    const url = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
    ctx.log.info("api-server listening", { url });
    return {
      port,
      url,
      async stop() {
        for (const [, f] of feeds) f.stop();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      },
    };
  },
};
