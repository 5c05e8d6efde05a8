/**
 * DNS over UDP and TCP (RFC 1035 §4.2.2 length-prefixed) in front of a resolver function. Packets
 * are decoded and encoded with `dns-packet`; nothing here parses wire format by hand. Names outside
 * the cluster zone are relayed to the upstream resolvers unchanged (same id), so the client sees
 * the upstream's own answer.
 *
 * @example
 *   const srv = await serveDns({ host: "127.0.0.1", port: 0, resolve: (q) => answer(zone, q), upstreams: ["127.0.0.53:53"] });
 */
import type { Answer, Question, Reply } from "./zone.ts";
import type { Logger } from "../../runtime/logger.ts";
import dgram from "node:dgram";
import net from "node:net";
import * as packet from "dns-packet";
import { AnswerCache } from "./answer-cache.ts";

export interface DnsServerOptions {
  host: string;
  port: number;
  resolve(q: Question): Reply;
  /** `ip:port` (or `ip`, port 53) of the resolvers that answer names outside the cluster. */
  upstreams: string[];
  /** How long an upstream may take before the client gets SERVFAIL (default 2000 ms). */
  upstreamTimeoutMs?: number;
  log: Logger;
}

export interface DnsServer {
  address: { host: string; port: number };
  /** Forgets every cached answer (the zone changed). */
  invalidate(): void;
  close(): Promise<void>;
}

const UDP_MAX = 512;
/** The UDP receive buffer asked for: bursts of parallel lookups from many pods wait here, not in drops. */
const RECV_BUFFER = 4 * 1024 * 1024;

function toAnswer(a: Answer): packet.Answer {
  switch (a.type) {
    case "SRV":
      return { name: a.name, type: "SRV", ttl: a.ttl, class: "IN", data: a.data };
    case "A":
    case "AAAA":
    case "PTR":
    case "CNAME":
      return { name: a.name, type: a.type, ttl: a.ttl, class: "IN", data: a.data } as packet.Answer;
  }
}

function soa(domain: string, ttl: number): packet.Answer {
  return {
    name: domain,
    type: "SOA",
    ttl,
    class: "IN",
    data: { mname: `ns.dns.${domain}`, rname: `hostmaster.${domain}`, serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: ttl },
  };
}

const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, FORMERR: 1 } as const;

/** `1.2.3.4`, `1.2.3.4:5353`, `::1`, `[::1]:5353`. */
export function parseUpstream(u: string): { host: string; port: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(u);
  if (v6) return { host: v6[1]!, port: Number(v6[2] ?? 53) };
  const colons = u.split(":").length - 1;
  if (colons === 1) {
    const [host, port] = u.split(":");
    return { host: host!, port: Number(port) };
  }
  return { host: u, port: 53 };
}

export async function serveDns(o: DnsServerOptions & { domain: string; ttl: number }): Promise<DnsServer> {
  const upstreams = o.upstreams.map(parseUpstream);
  const timeoutMs = o.upstreamTimeoutMs ?? 2000;

  const failure = (query: packet.Packet | undefined, rcode: number): Buffer =>
    packet.encode({
      id: query?.id ?? 0,
      type: "response",
      flags: (rcode & 0xf) | ((query?.flags ?? 0) & packet.RECURSION_DESIRED) | packet.RECURSION_AVAILABLE,
      questions: query?.questions ?? [],
    });

  /** Relays the raw query to the first upstream that answers in time. */
  const forward = async (raw: Buffer, query: packet.Packet): Promise<Buffer> => {
    for (const up of upstreams) {
      const res = await new Promise<Buffer | undefined>((resolve) => {
        const sock = dgram.createSocket(net.isIPv6(up.host) ? "udp6" : "udp4");
        const t = setTimeout(() => done(undefined), timeoutMs);
        const done = (b: Buffer | undefined) => {
          clearTimeout(t);
          sock.close();
          resolve(b);
        };
        sock.on("error", () => done(undefined));
        sock.on("message", (msg) => done(msg));
        sock.send(raw, up.port, up.host);
      });
      if (res) return res;
    }
    o.log.debug("no upstream answered", { name: query.questions?.[0]?.name });
    return failure(query, RCODE.SERVFAIL);
  };

  const cache = new AnswerCache();

  /** One query → one response (bytes), from the cache when the same query was answered since the zone last changed. */
  const handle = (raw: Buffer, udp: boolean): Buffer | Promise<Buffer | undefined> | undefined => cache.get(raw, udp) ?? compute(raw, udp);

  /** One query → one response (bytes). Never throws: malformed input gets FORMERR. */
  const compute = (raw: Buffer, udp: boolean): Buffer | Promise<Buffer> | undefined => {
    let query: packet.Packet;
    try {
      query = packet.decode(raw);
    } catch {
      // Too short to carry an id: drop it, as real servers do; otherwise FORMERR.
      return raw.length >= 2 ? failure({ id: raw.readUInt16BE(0), type: "query", flags: 0, questions: [] } as packet.Packet, RCODE.FORMERR) : undefined;
    }
    if (query.type === "response") return undefined;
    const q = query.questions?.[0];
    if (!q || (query.questions?.length ?? 0) !== 1) return failure(query, RCODE.FORMERR);
    const reply = o.resolve({ name: q.name, type: String(q.type) });
    if (reply.rcode === "FORWARD") return upstreams.length ? forward(raw, query) : failure(query, RCODE.SERVFAIL);
    const rd = (query.flags ?? 0) & packet.RECURSION_DESIRED;
    const res: packet.Packet = {
      id: query.id ?? 0,
      type: "response",
      flags: packet.AUTHORITATIVE_ANSWER | rd | packet.RECURSION_AVAILABLE | RCODE[reply.rcode],
      questions: [q],
      answers: reply.answers.map(toAnswer),
      authorities: reply.answers.length === 0 ? [soa(o.domain, o.ttl)] : [],
    };
    let out = packet.encode(res);
    if (udp && out.length > UDP_MAX) {
      // Truncated: the client retries over TCP (RFC 7766).
      out = packet.encode({ ...res, flags: (res.flags ?? 0) | packet.TRUNCATED_RESPONSE, answers: [], authorities: [] });
    }
    cache.set(raw, udp, out);
    return out;
  };

  const udp = dgram.createSocket({ type: net.isIPv6(o.host) ? "udp6" : "udp4", recvBufferSize: RECV_BUFFER });
  const reply = (out: Buffer | undefined, rinfo: dgram.RemoteInfo) => {
    if (out) udp.send(out, rinfo.port, rinfo.address);
  };
  udp.on("message", (msg, rinfo) => {
    try {
      const out = handle(msg, true);
      if (out instanceof Promise) out.then((b) => reply(b, rinfo), (e) => o.log.warn("dns query failed", { error: String(e) }));
      else reply(out, rinfo);
    } catch (e) {
      o.log.warn("dns query failed", { error: String(e) });
    }
  });
  udp.on("error", (e) => o.log.warn("dns udp socket error", { error: String(e) }));
  await new Promise<void>((resolve, reject) => {
    udp.once("error", reject);
    udp.bind(o.port, o.host, () => {
      udp.off("error", reject);
      resolve();
    });
  });
  const port = udp.address().port;

  const tcp = net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.setTimeout(10_000, () => sock.destroy());
    sock.on("error", () => sock.destroy());
    sock.on("data", (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        Promise.resolve(handle(Buffer.from(msg), false)).then(
          (out) => {
            if (!out || sock.destroyed) return;
            const head = Buffer.alloc(2);
            head.writeUInt16BE(out.length);
            sock.write(Buffer.concat([head, out]));
          },
          () => sock.destroy(),
        );
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(port, o.host, () => {
      tcp.off("error", reject);
      resolve();
    });
  });

  return {
    address: { host: o.host, port },
    invalidate: () => cache.clear(),
    async close() {
      await new Promise<void>((r) => udp.close(() => r()));
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
}
