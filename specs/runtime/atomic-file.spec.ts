import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { writeFileAtomic, readJsonFile } from "../../runtime/atomic-file.ts";
import { ensurePki } from "../../actors/api-server/certs.ts";
import { ensureTokens } from "../../actors/api-server/tokens.ts";
import { readState, writeState } from "../../cli/config.ts";

const isObj = (v: unknown): v is { n: number } => typeof v === "object" && v !== null && typeof (v as { n?: unknown }).n === "number";

describe("files on disk", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "flotilla-files-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("replaces a file whole and leaves no temporary file behind", () => {
    const p = join(dir, "a.json");
    writeFileAtomic(p, '{"n":1}');
    writeFileAtomic(p, '{"n":2}', { mode: 0o600 });
    expect(readJsonFile(p, isObj)).to.deep.equal({ n: 2 });
    expect(readdirSync(dir)).to.deep.equal(["a.json"]);
  });

  it("sets a corrupt file aside as <name>.corrupt-<ts> and reads it as absent", () => {
    const p = join(dir, "a.json");
    writeFileSync(p, '{"n":');
    expect(readJsonFile(p, isObj)).to.equal(undefined);
    const files = readdirSync(dir);
    expect(files).to.have.length(1);
    expect(files[0]).to.match(/^a\.json\.corrupt-\d{4}-\d\d-\d\dT/);
    expect(readFileSync(join(dir, files[0]!), "utf8")).to.equal('{"n":');
    writeFileSync(p, '{"m":1}');
    expect(readJsonFile(p, isObj), "valid JSON of the wrong shape").to.equal(undefined);
  });

  it("makes a new CA and serving certificate when the PKI files are corrupt", function () {
    this.timeout(30_000);
    const first = ensurePki(dir);
    writeFileSync(join(dir, "pki", "ca.crt"), "-----BEGIN CERTIFICATE-----\nnot a certificate\n");
    const second = ensurePki(dir);
    expect(second.caPem).to.not.equal(first.caPem);
    expect(second.certPem).to.not.equal(first.certPem);
    expect(readdirSync(join(dir, "pki")).filter((f) => f.includes(".corrupt-"))).to.have.length(2);
    expect(ensurePki(dir)).to.deep.equal(second);
  });

  it("makes a new token file when the old one holds no token", () => {
    writeFileSync(join(dir, "tokens.csv"), "\u0000\u0001\n");
    const t = ensureTokens(dir);
    expect(t.admin).to.have.length.greaterThan(20);
    expect(ensureTokens(dir)).to.deep.equal(t);
    expect(readdirSync(dir).some((f) => f.startsWith("tokens.csv.corrupt-"))).to.equal(true);
  });

  it("reads a corrupt cluster.json as no running cluster and sets it aside", () => {
    writeState(dir, { pid: 1, natsUrl: "nats://127.0.0.1:1", natsPort: 1, apiUrl: "", apiPort: 0, cluster: "c", engine: "simulated", nodes: [], kubeconfig: "", startedAt: "" });
    expect(readState(dir)?.cluster).to.equal("c");
    writeFileSync(join(dir, "cluster.json"), "{");
    expect(readState(dir)).to.equal(undefined);
    expect(readdirSync(dir).some((f) => f.startsWith("cluster.json.corrupt-"))).to.equal(true);
  });
});
