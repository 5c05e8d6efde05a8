/**
 * A small promise client for CRI v1 (RuntimeService + ImageService) over a unix socket, loaded with
 * @grpc/proto-loader from the vendored api.proto subset (see NOTICE). Fields keep their proto
 * names (snake_case), int64s arrive as strings (see nanosToMs), enums as their names.
 *
 * @example
 *   const cri = new CriClient("/run/flotilla/containerd.sock");
 *   const v = await cri.runtime("Version", {});   // { runtime_name: "containerd", runtime_version: "1.6.20~ds1", … }
 */
import type { ServiceError } from "@grpc/grpc-js";
import type * as T from "./types.ts";
import { credentials, loadPackageDefinition, status as GrpcStatus } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";

const PROTO = fileURLToPath(new URL("./api.proto", import.meta.url));

type Unary = (req: unknown, opts: { deadline: Date }, cb: (e: ServiceError | null, res: unknown) => void) => void;
type Stub = Record<string, Unary> & { close(): void };
type StubCtor = new (address: string, creds: ReturnType<typeof credentials.createInsecure>, opts?: Record<string, unknown>) => Stub;

let services: { RuntimeService: StubCtor; ImageService: StubCtor } | undefined;
function load() {
  if (services) return services;
  const def = loadSync(PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const pkg = loadPackageDefinition(def) as unknown as { runtime: { v1: { RuntimeService: StubCtor; ImageService: StubCtor } } };
  services = pkg.runtime.v1;
  return services;
}

/** A CRI call failed: the gRPC status code name (NOT_FOUND, UNKNOWN, …) and the runtime's message. */
export class CriError extends Error {
  override name = "CriError";
  constructor(
    readonly code: string,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
  get retryable(): boolean {
    return this.code === "UNAVAILABLE" || this.code === "DEADLINE_EXCEEDED";
  }
}

/** Nanoseconds since the epoch (an int64 as a decimal string) → milliseconds; 0 when unset. */
export function nanosToMs(ns: string | number | undefined): number {
  if (ns === undefined || ns === "" || ns === "0" || ns === 0) return 0;
  return Number(BigInt(ns) / 1_000_000n);
}

export class CriClient {
  private readonly rt: Stub;
  private readonly img: Stub;

  constructor(readonly socketPath: string) {
    const s = load();
    const addr = `unix://${socketPath}`;
    const opts = { "grpc.max_receive_message_length": 16 * 1024 * 1024 };
    this.rt = new s.RuntimeService(addr, credentials.createInsecure(), opts);
    this.img = new s.ImageService(addr, credentials.createInsecure(), opts);
  }

  runtime<M extends keyof T.RuntimeRpcs>(method: M, req: T.RuntimeRpcs[M][0], timeoutMs = 30_000): Promise<T.RuntimeRpcs[M][1]> {
    return call(this.rt, method, req, timeoutMs) as Promise<T.RuntimeRpcs[M][1]>;
  }

  image<M extends keyof T.ImageRpcs>(method: M, req: T.ImageRpcs[M][0], timeoutMs = 30_000): Promise<T.ImageRpcs[M][1]> {
    return call(this.img, method, req, timeoutMs) as Promise<T.ImageRpcs[M][1]>;
  }

  close(): void {
    this.rt.close();
    this.img.close();
  }
}

function call(stub: Stub, method: string, req: unknown, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    stub[method]!.call(stub, req, { deadline: new Date(Date.now() + timeoutMs) }, (e, res) => {
      if (!e) return resolve(res);
      const code = (GrpcStatus as unknown as Record<number, string>)[e.code] ?? String(e.code);
      reject(new CriError(code, e.details || e.message, e));
    });
  });
}

export const isNotFound = (e: unknown) => e instanceof CriError && e.code === "NOT_FOUND";
