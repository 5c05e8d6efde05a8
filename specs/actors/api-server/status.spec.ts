import { expect } from "chai";
import { ErrorCode, FlotillaError } from "../../../bus/errors.ts";
import { resourceType } from "../../../bus/kinds.ts";
import { statusFromError, HTTP_OF } from "../../../actors/api-server/status.ts";

const pods = resourceType("pods")!;
const deployments = resourceType("deployments")!;

describe("api-server status mapping", () => {
  it("maps every error code to an HTTP status", () => {
    for (const code of Object.values(ErrorCode)) expect(HTTP_OF[code].code, code).to.be.within(400, 599);
    expect(HTTP_OF.NotFound.code).to.equal(404);
    expect(HTTP_OF.Conflict.code).to.equal(409);
    expect(HTTP_OF.AlreadyExists.code).to.equal(409);
    expect(HTTP_OF.Invalid.code).to.equal(422);
    expect(HTTP_OF.RequestEntityTooLarge.code).to.equal(413);
    expect(HTTP_OF.Expired.code).to.equal(410);
    expect(HTTP_OF.UnsupportedMediaType.code).to.equal(415);
    expect(HTTP_OF.TooManyRequests.code).to.equal(429);
    expect(HTTP_OF.Unavailable.code).to.equal(503);
    expect(HTTP_OF.Timeout.code).to.equal(504);
  });

  it("words NotFound the way kubectl prints it, with the plural in details.kind", () => {
    const { code, body } = statusFromError(new FlotillaError(ErrorCode.NotFound, "no such key"), { rt: pods, name: "missing" });
    expect(code).to.equal(404);
    expect(body).to.deep.equal({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: 'pods "missing" not found',
      reason: "NotFound",
      details: { kind: "pods", name: "missing" },
      code: 404,
    });
  });

  it("qualifies names in non-core groups", () => {
    const { body } = statusFromError(new FlotillaError(ErrorCode.AlreadyExists, "exists"), { rt: deployments, name: "web" });
    expect(body.message).to.equal('deployments.apps "web" already exists');
    expect(body.details).to.deep.equal({ kind: "deployments", group: "apps", name: "web" });
  });

  it("keeps the store's message and causes for Invalid, with the Kind in details", () => {
    const causes = [{ field: "spec.containers[0].image", reason: "FieldValueRequired", message: "Required value" }];
    const e = new FlotillaError(ErrorCode.Invalid, 'Pod "x" is invalid: spec.containers[0].image: Required value', { details: { kind: "Pod", name: "x", causes } });
    const { code, body } = statusFromError(e, { rt: pods, name: "x" });
    expect(code).to.equal(422);
    expect(body.reason).to.equal("Invalid");
    expect(body.message).to.equal('Pod "x" is invalid: spec.containers[0].image: Required value');
    expect(body.details?.causes?.[0]?.field).to.equal("spec.containers[0].image");
    expect(body.details?.kind).to.equal("Pod");
  });

  it("builds the Conflict message kubectl shows for a stale update", () => {
    const { code, body } = statusFromError(new FlotillaError(ErrorCode.Conflict, "wrong last sequence"), { rt: pods, name: "p1" });
    expect(code).to.equal(409);
    expect(body.message).to.equal('Operation cannot be fulfilled on pods "p1": the object has been modified; please apply your changes to the latest version and try again');
  });

  it("answers Unauthorized with no details", () => {
    const { code, body } = statusFromError(new FlotillaError(ErrorCode.Unauthorized, "bad token"), { rt: pods });
    expect(code).to.equal(401);
    expect(body.message).to.equal("Unauthorized");
    expect(body).to.not.have.property("details");
  });

  it("turns unknown exceptions into 500 InternalError", () => {
    const { code, body } = statusFromError(new TypeError("boom"));
    expect(code).to.equal(500);
    expect(body.reason).to.equal("InternalError");
    expect(body.message).to.equal("Internal error occurred: boom");
  });

  it("answers 503 when the store does not answer", () => {
    const { code, body } = statusFromError(new FlotillaError(ErrorCode.Unavailable, "no actor answers flotilla.default.store.get"));
    expect(code).to.equal(503);
    expect(body.reason).to.equal("ServiceUnavailable");
  });
});
