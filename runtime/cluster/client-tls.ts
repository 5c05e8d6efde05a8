/**
 * TLS options for a connection to the cluster's servers: the chain must lead to the cluster CA
 * (and only to it: Node's default CAs are replaced), and the certificate must name the address the
 * client reached. nats.js starts TLS on the socket it dialled without a server name when the host
 * is an IP address, so the address is read from that socket.
 *
 * @example
 *   await connect({ servers, user, pass, tls: clusterTls("/var/lib/flotilla/pki/ca.crt") });
 */
import type { PeerCertificate } from "node:tls";
import type { Socket } from "node:net";
import { checkServerIdentity } from "node:tls";

export interface ClusterTls {
  caFile: string;
  checkServerIdentity: (this: { socket?: Socket } | undefined, host: string, cert: PeerCertificate) => Error | undefined;
}

export function clusterTls(caFile: string): ClusterTls {
  return {
    caFile,
    checkServerIdentity(host, cert) {
      const peer = this?.socket?.remoteAddress?.replace(/^::ffff:/, "");
      // Without the socket (a Node that no longer passes it) the name nats.js gave is checked as is.
      return checkServerIdentity(peer ?? host, cert);
    },
  };
}
