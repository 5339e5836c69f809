// A network namespace where 169.254.169.254 is a fake instance metadata
// service (test/helpers/imds-server.ts, run under Bun inside the namespace),
// and a runner for the built spiderpool-ipam there, as on an EC2 node:
//
//   const imds = await ImdsNetns.start(scratch, masterState());
//   const out = await imds.run(["pools", "discover", "--imds", "--node", "master"]);
//   await imds.setState({ ...state, tokenStatus: 405 });   // read on the next request
//   await imds.close();                                    // also done by scratch.cleanup()
//
// `withServer: false` makes the namespace without a service: a host that is
// not on AWS. The namespace, its address and the server are the Scratch's,
// removed with it. `ImdsNetns.onLoopback` runs the service on the host's
// 127.0.0.1 instead (free port; `url` for --url), for a test whose store
// (etcd members on loopback) the namespace could not reach.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { BUN, ip, type Scratch } from "../fixtures/net/scaffold";
import { runProcess, type ProcessOutput } from "./cni";
import type { ImdsState } from "./imds-server";

const SERVER = fileURLToPath(new URL("./imds-server.ts", import.meta.url));
const IPAM_BIN = fileURLToPath(new URL("../../dist/bin/spiderpool-ipam", import.meta.url));
export const IMDS_ADDRESS = "169.254.169.254";
// Kills the server when the test process dies without cleaning up (SIGKILL, a vitest timeout).
const SETPRIV = "/usr/bin/setpriv";

export class ImdsNetns {
  /** The service's base URL (for --url; the default one inside a namespace). */
  url = `http://${IMDS_ADDRESS}`;

  private constructor(
    readonly netns: string | undefined,
    private readonly stateFile: string,
    private server: ChildProcess | undefined,
  ) {}

  static async onLoopback(scratch: Scratch, state: ImdsState): Promise<ImdsNetns> {
    const box = new ImdsNetns(undefined, scratch.file("loopback-imds-state.json"), undefined);
    await box.setState(state);
    const { child, port } = await startServer([], box.stateFile, "127.0.0.1", "0");
    box.server = child;
    box.url = `http://127.0.0.1:${port}`;
    return box;
  }

  /** `role` names the namespace (nt-<role>-<suffix>): one per role and Scratch. */
  static async start(scratch: Scratch, state: ImdsState, { withServer = true, role = "imds" } = {}): Promise<ImdsNetns> {
    const netns = scratch.netns(role);
    ip("-n", netns, "link", "set", "lo", "up");
    ip("-n", netns, "addr", "add", `${IMDS_ADDRESS}/32`, "dev", "lo");
    const stateFile = scratch.file(`${role}-state.json`);
    const box = new ImdsNetns(netns, stateFile, undefined);
    await box.setState(state);
    if (withServer) box.server = (await startServer(["ip", "netns", "exec", netns], stateFile, IMDS_ADDRESS, "80")).child;
    return box;
  }

  /** What the service answers from the next request on (written whole: the server never reads half a file). */
  async setState(state: ImdsState): Promise<void> {
    await writeFile(`${this.stateFile}.new`, JSON.stringify(state));
    await rename(`${this.stateFile}.new`, this.stateFile);
  }

  /** The built spiderpool-ipam inside the namespace (or on the host), with a clean environment plus `env`. */
  run(argv: string[], env: Record<string, string | undefined> = {}): Promise<ProcessOutput> {
    const opts = { env, timeoutMs: 30_000 };
    return this.netns ? runProcess("ip", ["netns", "exec", this.netns, IPAM_BIN, ...argv], opts) : runProcess(IPAM_BIN, argv, opts);
  }

  /** Stops the server (idempotent); the namespace goes with the Scratch. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server || server.exitCode !== null || server.signalCode !== null) return;
    const gone = new Promise((resolve) => server.once("exit", resolve));
    server.kill("SIGKILL");
    await gone;
  }
}

/** The server under `wrapper` (e.g. ip netns exec NS); resolves with the port it listens on. */
async function startServer(wrapper: string[], stateFile: string, host: string, port: string): Promise<{ child: ChildProcess; port: number }> {
  const argv = [...wrapper, BUN, SERVER, stateFile, host, port];
  const [cmd, args] = existsSync(SETPRIV) ? [SETPRIV, ["--pdeathsig", "KILL", "--", ...argv]] : [argv[0]!, argv.slice(1)];
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
  const bound = await new Promise<number>((resolve, reject) => {
    child.stdout!.on("data", (b: Buffer) => {
      const m = /listening (\d+)/.exec(b.toString());
      if (m) resolve(Number(m[1]));
    });
    child.on("exit", (code) => reject(new Error(`the fake metadata service exited (${code}) before listening: ${stderr}`)));
    child.on("error", reject);
  });
  return { child, port: bound };
}
