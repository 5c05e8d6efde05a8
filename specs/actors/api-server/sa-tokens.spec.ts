import { expect } from "chai";
import { generateKeyPairSync } from "node:crypto";
import { ISSUER, claimsFor, signToken, verifyToken } from "../../../actors/api-server/sa-tokens.ts";

describe("ServiceAccount tokens", () => {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const sa = { namespace: "ci", name: "builder", uid: "u-1" };
  const claims = claimsFor(sa, { nowSec: 1_000_000, expirationSeconds: 600, audiences: [ISSUER], pod: { name: "p", uid: "p-1" }, jti: "j" });
  const jwt = signToken(privateKey, publicKey, claims);

  it("carries Kubernetes' claims", () => {
    expect(claims).to.deep.equal({
      iss: ISSUER,
      sub: "system:serviceaccount:ci:builder",
      aud: [ISSUER],
      exp: 1_000_600,
      nbf: 1_000_000,
      iat: 1_000_000,
      jti: "j",
      "kubernetes.io": { namespace: "ci", serviceaccount: { name: "builder", uid: "u-1" }, pod: { name: "p", uid: "p-1" } },
    });
    expect(JSON.parse(Buffer.from(jwt.split(".")[0]!, "base64url").toString()).alg).to.equal("RS256");
  });

  it("verifies until it expires, and never with another key, another audience or a changed payload", () => {
    expect(verifyToken(publicKey, jwt, 1_000_599)?.sub).to.equal("system:serviceaccount:ci:builder");
    expect(verifyToken(publicKey, jwt, 1_000_600)).to.equal(undefined);
    expect(verifyToken(other.publicKey, jwt, 1_000_100)).to.equal(undefined);
    expect(verifyToken(publicKey, jwt, 1_000_100, "vault")).to.equal(undefined);
    const [h, , s] = jwt.split(".");
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: "system:serviceaccount:kube-system:admin" })).toString("base64url");
    expect(verifyToken(publicKey, `${h}.${forged}.${s}`, 1_000_100)).to.equal(undefined);
    expect(verifyToken(publicKey, "not-a-jwt", 1_000_100)).to.equal(undefined);
  });
});
