/**
 * A kubelet's request for the token of a pod's ServiceAccount (Kubernetes' kubelet uses
 * TokenRequest with `boundObjectRef` for the projected `serviceAccountToken` source). The node is
 * the subject's (`subjects.podTokenForNode`), never the payload's. Types only.
 */
export interface PodTokenRequest {
  type: "pod.token";
  namespace: string;
  pod: string;
  podUid: string;
  serviceAccount: string;
  expirationSeconds: number;
  /** Default: the api-server's issuer. */
  audiences?: string[];
}

export interface PodToken {
  token: string;
  /** Unix seconds. */
  expiresAt: number;
  /** Unix seconds. */
  issuedAt: number;
}
