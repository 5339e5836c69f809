// A throwaway PKI for TLS tests of etcd, made with openssl in a directory the
// caller owns: a CA, a server certificate for 127.0.0.1 and a client
// certificate, all signed by that CA, valid for a day.
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface EtcdCertFiles {
  caFile: string;
  /** The server's certificate and key (subjectAltName IP:127.0.0.1). */
  serverCertFile: string;
  serverKeyFile: string;
  /** The client's certificate and key, what a store presents to a member started with --client-cert-auth. */
  certFile: string;
  keyFile: string;
}

// P-256 keys: made in milliseconds, unlike RSA, and both etcd and Bun take them.
const NEW_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

const openssl = (dir: string, ...args: string[]) => run("openssl", args, { cwd: dir });

async function signedByCa(dir: string, name: string, subject: string, extensions: string): Promise<void> {
  await openssl(dir, "req", ...NEW_KEY, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject);
  await writeFile(join(dir, `${name}.ext`), extensions);
  await openssl(dir, "x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
    "-days", "1", "-extfile", `${name}.ext`, "-out", `${name}.crt`);
}

/** Writes ca, server and client certificates and keys into `dir` and returns their paths. */
export async function makeEtcdCerts(dir: string): Promise<EtcdCertFiles> {
  await openssl(dir, "req", "-x509", ...NEW_KEY, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=etcd-test-ca");
  // The server certificate also serves as a client one: etcd's JSON gateway
  // calls the member's own gRPC server with it, which checks client certificates too.
  await signedByCa(dir, "server", "/CN=etcd-test-server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n");
  await signedByCa(dir, "client", "/CN=etcd-test-client", "extendedKeyUsage=clientAuth\n");
  return {
    caFile: join(dir, "ca.crt"),
    serverCertFile: join(dir, "server.crt"),
    serverKeyFile: join(dir, "server.key"),
    certFile: join(dir, "client.crt"),
    keyFile: join(dir, "client.key"),
  };
}
