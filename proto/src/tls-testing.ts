/**
 * Test certificates made with the real `openssl` command, the way README.md tells operators to
 * make theirs: a fleet CA, leaf certificates it signs (SAN IP:127.0.0.1 and DNS:localhost,
 * usable as server and client), and an unrelated second CA with its own leaf. For tests only;
 * not exported from the package index.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** Paths of one certificate and its key. */
export interface TestCert {
  readonly cert: string;
  readonly key: string;
}

/** What {@link createTestPki} wrote. */
export interface TestPki {
  /** The fleet CA's certificate (the `ca` of every `tls` block). */
  readonly ca: string;
  /** Leaf signed by the fleet CA for 127.0.0.1/localhost (server and client use). */
  readonly server: TestCert;
  /** A second leaf signed by the fleet CA (client and server use). */
  readonly client: TestCert;
  /** An unrelated CA's certificate. */
  readonly otherCa: string;
  /** A leaf for 127.0.0.1/localhost signed by the unrelated CA. */
  readonly otherClient: TestCert;
}

const openssl = (dir: string, args: readonly string[]): void => {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
};

function makeCa(dir: string, name: string): TestCert {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  return { cert, key };
}

function makeLeaf(dir: string, name: string, ca: TestCert): TestCert {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(
    ext,
    [
      "basicConstraints=CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth,clientAuth",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "",
    ].join("\n"),
  );
  openssl(dir, [
    "req",
    "-new",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    key,
    "-out",
    csr,
    "-subj",
    `/CN=${name}`,
  ]);
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    ext,
    "-out",
    cert,
  ]);
  return { cert, key };
}

/** Writes a test PKI into `dir` (which must exist). */
export function createTestPki(dir: string): TestPki {
  const ca = makeCa(dir, "fleet-ca");
  const other = makeCa(dir, "other-ca");
  return {
    ca: ca.cert,
    server: makeLeaf(dir, "server", ca),
    client: makeLeaf(dir, "client", ca),
    otherCa: other.cert,
    otherClient: makeLeaf(dir, "other-client", other),
  };
}
