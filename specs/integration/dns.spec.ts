/**
 * The `dns` actor against a real nats-server and store: Services, Endpoints and Pods become records
 * within a second, other names go to the upstream resolver (a fake one on loopback), and parallel
 * A/AAAA lookups never stall.
 */
import { expect } from "chai";
import dgram from "node:dgram";
import net from "node:net";
import * as packet from "dns-packet";
import type { TestCluster } from "../harness/cluster.ts";
import type { Endpoints, Service } from "../../bus/resources.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { dns } from "../../actors/dns/index.ts";

/** A port free for both UDP and TCP on 127.0.0.1. */
async function freePort(): Promise<number> {
  for (;;) {
    const s = dgram.createSocket("udp4");
    const port = await new Promise<number>((r) => s.bind(0, "127.0.0.1", () => r(s.address().port)));
    const t = net.createServer();
    const ok = await new Promise<boolean>((r) => t.once("error", () => r(false)).listen(port, "127.0.0.1", () => r(true)));
    s.close();
    if (ok) {
      await new Promise((r) => t.close(r));
      return port;
    }
  }
}

function queryUdp(port: number, name: string, type: string, timeoutMs = 1000): Promise<packet.Packet> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    const id = Math.floor(Math.random() * 65535);
    const t = setTimeout(() => {
      s.close();
      reject(new Error(`no answer for ${name} ${type} in ${timeoutMs} ms`));
    }, timeoutMs);
    s.on("message", (m) => {
      clearTimeout(t);
      s.close();
      const p = packet.decode(m);
      if (p.id !== id) reject(new Error("id mismatch"));
      resolve(p);
    });
    s.send(packet.encode({ id, type: "query", flags: packet.RECURSION_DESIRED, questions: [{ name, type: type as packet.RecordType }] }), port, "127.0.0.1");
  });
}

function queryTcp(port: number, name: string, type: string): Promise<packet.Packet> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    const q = packet.encode({ id: 7, type: "query", flags: 0, questions: [{ name, type: type as packet.RecordType }] });
    const head = Buffer.alloc(2);
    head.writeUInt16BE(q.length);
    sock.write(Buffer.concat([head, q]));
    let buf = Buffer.alloc(0);
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        sock.end();
        resolve(packet.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
      }
    });
    sock.on("error", reject);
  });
}

const rcode = (p: packet.Packet) => ((p.flags ?? 0) & 0xf);
const dataOf = (p: packet.Packet) => (p.answers ?? []).map((a) => (a as { data?: unknown }).data);
const ips = (p: packet.Packet) => (p.answers ?? []).filter((a) => a.type === "A" || a.type === "AAAA").map((a) => (a as { data: string }).data).sort();

describe("dns (integration)", function () {
  this.timeout(60_000);
  let c: TestCluster;
  let port: number;
  let upstream: dgram.Socket;
  let upstreamPort: number;

  before(async () => {
    // A fake upstream resolver on loopback: answers every A question with 127.0.0.42.
    upstream = dgram.createSocket("udp4");
    upstream.on("message", (m, r) => {
      const q = packet.decode(m);
      upstream.send(
        packet.encode({ id: q.id, type: "response", flags: packet.RECURSION_AVAILABLE, questions: q.questions, answers: [{ type: "A", name: q.questions![0]!.name, ttl: 60, data: "127.0.0.42" }] }),
        r.port,
        r.address,
      );
    });
    upstreamPort = await new Promise<number>((r) => upstream.bind(0, "127.0.0.1", () => r(upstream.address().port)));
    port = await freePort();
    c = await startTestCluster({ actors: [{ def: dns, opts: { listen: `127.0.0.1:${port}`, upstreams: [`127.0.0.1:${upstreamPort}`], register: false } }] });
  });
  after(async () => {
    await c?.stop();
    upstream?.close();
  });

  it("resolves a Service within a second of its creation and forgets it within a second of its deletion", async () => {
    await c.store.create("services", "default", { apiVersion: "v1", kind: "Service", metadata: { name: "backend" }, spec: { ports: [{ name: "http", port: 8081 }] } } satisfies Service);
    const svc = await c.store.get<Service>("services", "default", "backend");
    const t0 = Date.now();
    const p = await waitFor(async () => {
      const r = await queryUdp(port, "backend.default.svc.cluster.local", "A");
      return ips(r).length ? r : undefined;
    }, { timeoutMs: 1000, intervalMs: 20, what: "the new Service's A record" });
    expect(ips(p)).to.deep.equal([svc.spec.clusterIP]);
    expect((p.flags ?? 0) & packet.AUTHORITATIVE_ANSWER).to.not.equal(0);
    expect(Date.now() - t0).to.be.below(1000);

    const srv = await queryTcp(port, "_http._tcp.backend.default.svc.cluster.local", "SRV");
    expect(dataOf(srv)).to.deep.equal([{ priority: 0, weight: 100, port: 8081, target: "backend.default.svc.cluster.local" }]);

    await c.store.delete("services", "default", "backend");
    await waitFor(async () => rcode(await queryUdp(port, "backend.default.svc.cluster.local", "A")) === 3, { timeoutMs: 1000, intervalMs: 20, what: "NXDOMAIN after deletion" });
  });

  it("answers NXDOMAIN for unknown cluster names, with the zone's SOA", async () => {
    const p = await queryUdp(port, "nothing.default.svc.cluster.local", "A");
    expect(rcode(p)).to.equal(3);
    expect(p.authorities?.[0]?.type).to.equal("SOA");
  });

  it("forwards other names to the upstream resolver", async () => {
    const p = await queryUdp(port, "example.test", "A");
    expect(ips(p)).to.deep.equal(["127.0.0.42"]);
  });

  it("answers a malformed packet without stopping", async () => {
    const s = dgram.createSocket("udp4");
    await new Promise<void>((r) => s.send(Buffer.from([1, 2, 3, 4, 5]), port, "127.0.0.1", () => r()));
    s.close();
    expect(rcode(await queryUdp(port, "kubernetes.default.svc.cluster.local", "A"))).to.be.oneOf([0, 3]);
  });

  it("answers a name asked in any case, echoing the question as the client spelled it", async () => {
    await c.store.create("services", "default", { apiVersion: "v1", kind: "Service", metadata: { name: "mixed" }, spec: { ports: [{ port: 80 }] } } satisfies Service);
    const svc = await c.store.get<Service>("services", "default", "mixed");
    await waitFor(async () => ips(await queryUdp(port, "mixed.default.svc.cluster.local", "A")).length > 0, { what: "mixed's A record" });
    for (const name of ["MIXED.default.svc.cluster.local", "mIxEd.DeFaUlT.sVc.cluster.local"]) {
      const p = await queryUdp(port, name, "A");
      expect(p.questions?.[0]?.name).to.equal(name);
      expect(ips(p)).to.deep.equal([svc.spec.clusterIP]);
    }
  });

  it("answers parallel A and AAAA lookups from many clients with no answer slower than a second", async () => {
    await c.store.create("services", "default", { apiVersion: "v1", kind: "Service", metadata: { name: "web" }, spec: { ports: [{ port: 80 }] } } satisfies Service);
    await waitFor(async () => ips(await queryUdp(port, "web.default.svc.cluster.local", "A")).length > 0, { what: "web's A record" });
    const lookups = Array.from({ length: 200 }, (_, i) => queryUdp(port, "web.default.svc.cluster.local", i % 2 ? "AAAA" : "A", 1000));
    const answers = await Promise.all(lookups);
    expect(answers.filter((a) => rcode(a) === 0)).to.have.length(200);
  });
});

describe("dns (integration) › the kube-dns Service", function () {
  this.timeout(60_000);
  it("points kube-system/kube-dns at the replica, and resolves its own name", async () => {
    const port = await freePort();
    const c = await startTestCluster({ actors: [{ def: dns, opts: { listen: `127.0.0.1:${port}`, upstreams: [] } }] });
    try {
      const svc = await waitFor(() => c.store.get<Service>("services", "kube-system", "kube-dns"), { what: "kube-dns" });
      expect(svc.spec.ports?.map((p) => `${p.port}/${p.protocol}`)).to.deep.equal(["53/UDP", "53/TCP"]);
      const eps = await waitFor(async () => (await c.store.get<Endpoints>("endpoints", "kube-system", "kube-dns").catch(() => undefined))?.subsets?.[0], { what: "kube-dns endpoints" });
      expect(eps.addresses).to.deep.equal([{ ip: "127.0.0.1" }]);
      expect(eps.ports).to.deep.equal([{ name: "dns", protocol: "UDP", port }, { name: "dns-tcp", protocol: "TCP", port }]);
      await waitFor(async () => ips(await queryUdp(port, "kube-dns.kube-system.svc.cluster.local", "A"))[0] === svc.spec.clusterIP, { what: "kube-dns resolving itself" });
    } finally {
      await c.stop();
    }
  });
});
