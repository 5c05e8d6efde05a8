/**
 * Trust on first contact, checked by the token: a worker or a joining server that holds only a
 * token (`K10<ca-hash>::F1.…`) asks a server's NATS client port for its certificate chain,
 * finds in it the certificate whose SHA-256 is the token's CA hash, checks that the server's own
 * certificate is signed by that CA, and only then keeps it (`pki/ca.crt`) and connects for real,
 * verifying the server against it (address in the certificate included). No password is sent
 * before that: this first connection stops after the TLS handshake.
 *
 * The servers present their certificate followed by the CA's (server-cert.ts), so the chain is
 * there to read. This is k3s' `/cacerts` check, done on the NATS port every worker reaches anyway.
 *
 * @example
 *   const caPem = await fetchClusterCa("10.0.0.5:4222", parseToken(token)!.caHash!);
 */
import { connect as tcpConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { createHash, X509Certificate } from "node:crypto";
import type { PeerCertificate, DetailedPeerCertificate } from "node:tls";

export class CaMismatch extends Error {
  override name = "CaMismatch";
}

const sha256 = (der: Buffer) => createHash("sha256").update(der).digest("hex");

/** The certificates a server presented, its own first. */
function chainOf(leaf: DetailedPeerCertificate): PeerCertificate[] {
  const out: PeerCertificate[] = [];
  for (let c: DetailedPeerCertificate | undefined = leaf; c && c.raw && !out.includes(c); c = c.issuerCertificate === c ? undefined : c.issuerCertificate) out.push(c);
  return out;
}

/** Reads the first protocol line (INFO) of a NATS server. */
function readInfo(host: string, port: number, timeoutMs: number): Promise<{ socket: ReturnType<typeof tcpConnect>; info: { tls_required?: boolean } }> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port });
    let buf = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from ${host}:${port} in ${timeoutMs / 1000} s`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      buf += d.toString("latin1");
      const end = buf.indexOf("\r\n");
      if (end < 0) return;
      clearTimeout(timer);
      socket.removeListener("data", onData);
      socket.removeListener("error", onError);
      const line = buf.slice(0, end);
      if (!line.startsWith("INFO ")) {
        socket.destroy();
        return reject(new Error(`${host}:${port} is not a NATS server`));
      }
      try {
        resolve({ socket, info: JSON.parse(line.slice(5)) as { tls_required?: boolean } });
      } catch {
        socket.destroy();
        reject(new Error(`${host}:${port} sent an unreadable INFO`));
      }
    };
    const onError = (e: Error) => {
      clearTimeout(timer);
      reject(e);
    };
    socket.on("data", onData);
    socket.once("error", onError);
  });
}

/** The cluster CA (PEM) of the server at `hostPort`, if its hash is `caHash`; throws CaMismatch otherwise. */
export async function fetchClusterCa(hostPort: string, caHash: string, timeoutMs = 5000): Promise<string> {
  const i = hostPort.lastIndexOf(":");
  const host = hostPort.slice(0, i).replace(/^\[|\]$/g, "");
  const port = Number(hostPort.slice(i + 1));
  const { socket, info } = await readInfo(host, port, timeoutMs);
  if (!info.tls_required) {
    socket.destroy();
    throw new CaMismatch(`the server at ${hostPort} does not use TLS on client connections, so it cannot prove it holds the cluster CA`);
  }
  const leaf = await new Promise<DetailedPeerCertificate>((resolve, reject) => {
    // Not verified yet on purpose: what it presents is checked against the hash below.
    const t = tlsConnect({ socket, rejectUnauthorized: false }, () => {
      const cert = t.getPeerCertificate(true);
      t.destroy();
      resolve(cert);
    });
    t.setTimeout(timeoutMs, () => t.destroy(new Error(`TLS handshake with ${hostPort} timed out`)));
    t.once("error", reject);
  });
  const chain = chainOf(leaf);
  const ca = chain.find((c) => sha256(c.raw) === caHash);
  if (!ca) throw new CaMismatch(`the server at ${hostPort} presents no CA whose SHA-256 is the token's (${caHash.slice(0, 12)}…): it is not this cluster's server, or the token is not this cluster's`);
  const caCert = new X509Certificate(ca.raw);
  const own = new X509Certificate(chain[0]!.raw);
  if (!caCert.ca || !own.verify(caCert.publicKey)) throw new CaMismatch(`the certificate of the server at ${hostPort} is not signed by the CA named in the token`);
  return caCert.toString();
}
