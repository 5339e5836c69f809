// Names from the runtime that are not valid UTF-8, sent as raw bytes to the
// BUILT executables. Bun decodes each invalid sequence to U+FFFD, so $'\xff'
// and $'\xfe' would reach the plugin as one name and share one record (a DEL
// of one then freed the other's address): they are refused with code 4.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cniError, cniOk, describeRun, runProcess, type CniOutput } from "../helpers/cni";
import { addressesOf, IPAM_BIN, IpamSandbox, REPO_ROOT, useIpamSandbox } from "./ipam-harness";

let box: IpamSandbox;
useIpamSandbox((b) => (box = b));
const IPVLAN_BIN = join(REPO_ROOT, "dist", "bin", "ipvlan-attach");
const NOT_UTF8 = "not valid UTF-8";

/**
 * Node passes environment values and stdin as strings (encoded as UTF-8), so
 * bash builds the raw bytes: each RAW_<NAME> holds printf %b escapes
 * (\xHH) and becomes <NAME>; RAW_STDIN, when set, becomes stdin.
 */
const WITH_RAW_BYTES = [
  'for raw in "${!RAW_@}"; do',
  '  if [ "$raw" != RAW_STDIN ]; then export "${raw#RAW_}=$(printf "%b" "${!raw}")"; unset "$raw"; fi',
  "done",
  'if [ -n "${RAW_STDIN+set}" ]; then stdin=$RAW_STDIN; unset RAW_STDIN; printf "%b" "$stdin" | "$@"; else exec "$@"; fi',
].join("\n");

interface RawCall {
  /** Variables as printf %b escapes, e.g. { CNI_IFNAME: "\\xff" }. */
  raw?: Record<string, string>;
  /** Variables passed as they are. */
  env?: Record<string, string>;
  /** The network configuration; rawStdin replaces it with escaped bytes. */
  conf?: object;
  rawStdin?: string;
}

async function runRaw(argv: string[], { raw = {}, env = {}, conf, rawStdin }: RawCall): Promise<CniOutput> {
  const vars: Record<string, string> = { ...env };
  for (const [k, v] of Object.entries(raw)) vars[`RAW_${k}`] = v;
  if (rawStdin !== undefined) vars.RAW_STDIN = rawStdin;
  const out = await runProcess("bash", ["--norc", "--noprofile", "-c", WITH_RAW_BYTES, "bash", ...argv], { env: vars, stdin: conf ? JSON.stringify(conf) : "" });
  let json: unknown;
  try {
    json = JSON.parse(out.stdout);
  } catch {
    json = undefined;
  }
  return { ...out, json };
}

/** An IPAM command with the usual CNI variables, any of them replaced by raw bytes. */
function ipam(command: string, containerId: string, call: RawCall = {}): Promise<CniOutput> {
  const env = { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: "/var/run/netns/cni-test", CNI_IFNAME: "eth0", ...call.env };
  for (const k of Object.keys(call.raw ?? {})) delete env[k as keyof typeof env];
  return runRaw([IPAM_BIN], { conf: box.conf(), ...call, env });
}

function expectRefused(out: CniOutput, code: number, variable: string): void {
  const err = cniError(out);
  expect(err.code, describeRun(out)).toBe(code);
  expect(err.msg).toContain(variable);
}

describe("names that are not valid UTF-8", () => {
  it("reach the plugin as raw bytes (the harness works)", async () => {
    const script = "import os, sys; sys.stdout.write(os.environb[b'CNI_IFNAME'].hex() + ' ' + sys.stdin.buffer.read().hex())";
    const out = await runRaw(["python3", "-c", script], { raw: { CNI_IFNAME: "e\\xff" }, rawStdin: "\\xfe" });
    expect(out.stdout).toBe("65ff fe");
  });

  it("two different invalid interface names do not both get addresses: both are code 4, nothing is recorded", async () => {
    for (const name of ["\\xff", "\\xfe", "eth\\xc3"]) {
      const out = await ipam("ADD", "pod-a", { raw: { CNI_IFNAME: name } });
      expectRefused(out, 4, "CNI_IFNAME");
      expect(cniError(out).msg).toContain(NOT_UTF8);
    }
    expect(await box.attachments()).toEqual([]);
    expect(await box.claims()).toEqual([]);
    // DEL refuses them as well, so it cannot free another interface's addresses.
    expectRefused(await ipam("DEL", "pod-a", { raw: { CNI_IFNAME: "\\xfe" } }), 4, "CNI_IFNAME");
  });

  it("an interface name holding U+FFFD itself is refused too: after decoding, it cannot be told from invalid bytes", async () => {
    expectRefused(await ipam("ADD", "pod-a", { raw: { CNI_IFNAME: "\\xef\\xbf\\xbd" } }), 4, "CNI_IFNAME");
  });

  it("container IDs, network namespaces and the pod's name in CNI_ARGS are refused the same way", async () => {
    expectRefused(await ipam("ADD", "", { raw: { CNI_CONTAINERID: "pod\\xff" } }), 4, "CNI_CONTAINERID");
    expectRefused(await ipam("ADD", "pod-a", { raw: { CNI_NETNS: "/var/run/netns/\\xff" } }), 4, "CNI_NETNS");
    expectRefused(await ipam("ADD", "pod-a", { raw: { CNI_ARGS: "K8S_POD_NAMESPACE=default;K8S_POD_NAME=web\\xff" } }), 4, "K8S_POD_NAME");
    expect(await box.attachments()).toEqual([]);
  });

  it("a network name with invalid bytes in the configuration is code 7", async () => {
    const text = JSON.stringify(box.conf()).replace('"name":"ipvlan-ens5"', '"name":"net\\xff"'); // printf %b makes the byte
    expect(text).toContain('"name":"net\\xff"');
    const out = await ipam("ADD", "pod-a", { rawStdin: text });
    expectRefused(out, 7, "network name");
  });

  it("ipvlan-attach refuses them before touching the node or its stateDir", async () => {
    const stateDir = join(box.root, "coordinator-state");
    const conf = { cniVersion: "1.0.0", name: "ipvlan-ens5", type: "ipvlan-attach", master: "lo", coordinator: { stateDir }, ipam: box.conf().ipam };
    const env = { CNI_COMMAND: "ADD", CNI_CONTAINERID: "pod-a", CNI_NETNS: "/var/run/netns/cni-test" };
    const out = await runRaw([IPVLAN_BIN], { raw: { CNI_IFNAME: "\\xff" }, env, conf });
    expectRefused(out, 4, "CNI_IFNAME");
    expect(await box.claims()).toEqual([]);
  });

  it("valid non-ASCII interface names keep working, each with its own record", async () => {
    const first = await ipam("ADD", "pod-a", { raw: { CNI_IFNAME: "\\xc3\\xa9th0" } });
    const second = await ipam("ADD", "pod-a", { raw: { CNI_IFNAME: "\\xc3\\xa9th1" } });
    expect(addressesOf(cniOk(first))).not.toEqual(addressesOf(cniOk(second)));
    expect(await box.attachments()).toEqual(["pod-a/éth0", "pod-a/éth1"]);
    cniOk(await ipam("DEL", "pod-a", { raw: { CNI_IFNAME: "\\xc3\\xa9th0" } }));
    expect(await box.attachments()).toEqual(["pod-a/éth1"]);
    expect(await box.claims()).toHaveLength(2);
  });
});
