import { expect } from "chai";
import { ErrorCode, FlotillaError } from "../../../bus/errors.ts";
import { resourceType } from "../../../bus/kinds.ts";
import { statusFromError, HTTP_OF, encodeJson, httpStatus } from "../../../actors/api-server/status.ts";

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

  describe("on the wire", () => {
    const wire = (e: unknown, ctx = {}) => encodeJson(statusFromError(e, ctx).body);

    it("writes NotFound byte for byte as kube-apiserver does: details before code, then a newline", () => {
      expect(wire(new FlotillaError(ErrorCode.NotFound, "no such key"), { rt: pods, name: "x" })).to.equal(
        '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \\"x\\" not found","reason":"NotFound","details":{"name":"x","kind":"pods"},"code":404}\n',
      );
    });

    it("orders details as StatusDetails does (name, group, kind, causes) and each cause as reason, message, field", () => {
      const causes = [{ field: "spec.replicas", reason: "FieldValueInvalid", message: "Invalid value: -1: must be greater than or equal to 0" }];
      const e = new FlotillaError(ErrorCode.Invalid, 'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0', { details: { causes, kind: "Deployment", group: "apps", name: "web" } });
      expect(wire(e, { rt: deployments, name: "web" })).to.equal(
        '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Deployment.apps \\"web\\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0","reason":"Invalid","details":{"name":"web","group":"apps","kind":"Deployment","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: -1: must be greater than or equal to 0","field":"spec.replicas"}]},"code":422}\n',
      );
    });

    it("writes AlreadyExists in a named group and Unauthorized as Kubernetes does", () => {
      expect(wire(new FlotillaError(ErrorCode.AlreadyExists, "exists"), { rt: deployments, name: "web" })).to.equal(
        '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"deployments.apps \\"web\\" already exists","reason":"AlreadyExists","details":{"name":"web","group":"apps","kind":"deployments"},"code":409}\n',
      );
      expect(wire(new FlotillaError(ErrorCode.Unauthorized, "no token"))).to.equal('{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}\n');
    });

    it("gives Timeout and TooManyRequests their (possibly empty) details and a BadRequest none", () => {
      expect(wire(new FlotillaError(ErrorCode.Timeout, "request did not complete within the allotted timeout"), { rt: pods })).to.equal(
        '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Timeout: request did not complete within the allotted timeout","reason":"Timeout","details":{},"code":504}\n',
      );
      expect(wire(new FlotillaError(ErrorCode.TooManyRequests, "slow down", { details: { retryAfterSeconds: 2 } }))).to.equal(
        '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"slow down","reason":"TooManyRequests","details":{"retryAfterSeconds":2},"code":429}\n',
      );
      expect(wire(new FlotillaError(ErrorCode.BadRequest, "limit: bad"), { rt: pods })).to.equal('{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"limit: bad","reason":"BadRequest","code":400}\n');
      expect(wire(new FlotillaError(ErrorCode.RequestEntityTooLarge, "limit is 3145728"))).to.equal(
        '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Request entity too large: limit is 3145728","reason":"RequestEntityTooLarge","code":413}\n',
      );
    });

    it("carries an internal fault's message as its cause, as NewInternalError does", () => {
      expect(wire(new TypeError("boom"))).to.equal('{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Internal error occurred: boom","reason":"InternalError","details":{"causes":[{"message":"boom"}]},"code":500}\n');
    });

    it("escapes <, >, &, U+2028 and U+2029 as Go's encoding/json does", () => {
      expect(encodeJson({ m: "a<b>&c\u2028\u2029\u00e9\n" })).to.equal('{"m":"a\\u003cb\\u003e\\u0026c\\u2028\\u2029\u00e9\\n"}\n');
    });

    it("indents with two spaces and no trailing newline when pretty, as json.MarshalIndent does", () => {
      expect(encodeJson(httpStatus(414, "too long"), true)).to.equal('{\n  "kind": "Status",\n  "apiVersion": "v1",\n  "metadata": {},\n  "status": "Failure",\n  "message": "too long",\n  "code": 414\n}');
    });
  });
});
