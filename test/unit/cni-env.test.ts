import { describe, expect, it } from "vitest";
import { parseCniArgs } from "../../lib/cni/args";
import { COMMANDS, interfaceNameProblem, readCniEnv, type CniCommand } from "../../lib/cni/env";
import { CniError, ErrorCode } from "../../lib/cni/errors";
import { envFor, FULL_ENV } from "./helpers/cni";

/** Runs fn and returns the CniError it throws; fails the test if it does not throw one. */
function cniErrorOf(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    return e as CniError;
  }
  throw new Error("expected a CniError, nothing was thrown");
}

const REQUIRED: Record<CniCommand, string[]> = {
  ADD: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"],
  CHECK: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"],
  DEL: ["CNI_CONTAINERID", "CNI_IFNAME"],
  GC: ["CNI_PATH"],
  VERSION: [],
  STATUS: [],
};
const ALL_VARS = ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH", "CNI_ARGS"];

/** Every non-empty subset of a list. */
function subsets<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let mask = 1; mask < 1 << items.length; mask++) out.push(items.filter((_, i) => mask & (1 << i)));
  return out;
}

describe("readCniEnv: CNI_COMMAND", () => {
  it("knows exactly the six spec commands", () => {
    expect([...COMMANDS].sort()).toEqual(["ADD", "CHECK", "DEL", "GC", "STATUS", "VERSION"]);
  });

  it.each([
    ["missing", undefined],
    ["empty", ""],
  ])("%s CNI_COMMAND is code 4 naming CNI_COMMAND", (_label, value) => {
    const err = cniErrorOf(() => readCniEnv(envFor("ADD", { CNI_COMMAND: value })));
    expect(err.code).toBe(ErrorCode.InvalidEnvironment);
    expect(err.message).toContain("CNI_COMMAND");
  });

  it.each(["add", "Add", "FOO", " ADD", "ADD ", "DELETE", "VERSION\n", "GET", "INIT", "ADD;DEL"])(
    "unknown CNI_COMMAND %j is code 4",
    (command) => {
      const err = cniErrorOf(() => readCniEnv(envFor(command)));
      expect(err.code).toBe(ErrorCode.InvalidEnvironment);
      expect(err.message).toContain(JSON.stringify(command));
      expect(err.message).toMatch(/unknown CNI_COMMAND/);
    },
  );

  it.each(COMMANDS.map((c) => [c]))("%s with every variable set is accepted", (command) => {
    const env = readCniEnv(envFor(command));
    expect(env.command).toBe(command);
  });
});

describe("readCniEnv: required variables per command", () => {
  const missingCases: [CniCommand, string[]][] = [];
  for (const command of COMMANDS) for (const missing of subsets(REQUIRED[command])) missingCases.push([command, missing]);

  it.each(missingCases)("%s without %j is code 4 naming exactly the missing ones", (command, missing) => {
    for (const value of [undefined, ""]) {
      const overrides = Object.fromEntries(missing.map((k) => [k, value]));
      const err = cniErrorOf(() => readCniEnv(envFor(command, overrides)));
      expect(err.code).toBe(ErrorCode.InvalidEnvironment);
      for (const k of missing) expect(err.message).toContain(k);
      for (const k of REQUIRED[command].filter((k) => !missing.includes(k))) expect(err.message).not.toContain(k);
      expect(err.message).toContain(command);
    }
  });

  it.each(COMMANDS.map((c) => [c]))("%s needs nothing beyond its required variables", (command) => {
    const env: Record<string, string> = { CNI_COMMAND: command };
    for (const k of REQUIRED[command]) env[k] = FULL_ENV[k as keyof typeof FULL_ENV];
    const parsed = readCniEnv(env);
    expect(parsed.command).toBe(command);
    expect(parsed.args.size).toBe(0);
    if (!REQUIRED[command].includes("CNI_NETNS")) expect(parsed.netns).toBe("");
    if (!REQUIRED[command].includes("CNI_CONTAINERID")) expect(parsed.containerId).toBe("");
    if (!REQUIRED[command].includes("CNI_PATH")) expect(parsed.path).toEqual([]);
  });

  it("DEL does not need CNI_NETNS (the netns may already be gone)", () => {
    const parsed = readCniEnv(envFor("DEL", { CNI_NETNS: undefined }));
    expect(parsed.netns).toBe("");
    expect(parsed.containerId).toBe(FULL_ENV.CNI_CONTAINERID);
    expect(parsed.ifname).toBe("eth0");
  });

  it.each([["VERSION"], ["STATUS"]] as const)("%s works with no variable but CNI_COMMAND", (command) => {
    expect(readCniEnv({ CNI_COMMAND: command })).toEqual({
      command,
      containerId: "",
      netns: "",
      ifname: "",
      args: new Map(),
      rawArgs: "",
      path: [],
    });
  });

  it("GC does not need container ID, netns or ifname", () => {
    const parsed = readCniEnv({ CNI_COMMAND: "GC", CNI_PATH: "/opt/cni/bin" });
    expect(parsed.path).toEqual(["/opt/cni/bin"]);
  });

  it("reads every field of a full ADD environment", () => {
    const parsed = readCniEnv(envFor("ADD"));
    expect(parsed).toEqual({
      command: "ADD",
      containerId: FULL_ENV.CNI_CONTAINERID,
      netns: FULL_ENV.CNI_NETNS,
      ifname: "eth0",
      args: new Map([
        ["IgnoreUnknown", "1"],
        ["K8S_POD_NAMESPACE", "default"],
        ["K8S_POD_NAME", "web-0"],
      ]),
      rawArgs: FULL_ENV.CNI_ARGS,
      path: ["/opt/cni/bin", "/usr/lib/cni"],
    });
  });

  it.each([
    ["/opt/cni/bin", ["/opt/cni/bin"]],
    ["/a:/b:/c", ["/a", "/b", "/c"]],
    ["::/a::/b:", ["/a", "/b"]],
    ["", []],
  ])("CNI_PATH %j splits into %j", (path, expected) => {
    expect(readCniEnv(envFor("DEL", { CNI_PATH: path })).path).toEqual(expected);
  });

  it("ignores variables that are not part of CNI", () => {
    const parsed = readCniEnv({ ...envFor("ADD"), PATH: "/usr/bin", HOME: "/root", CNI_UNKNOWN: "x" });
    expect(parsed.command).toBe("ADD");
  });
});

describe("readCniEnv: CNI_CONTAINERID", () => {
  it.each([
    ["a"],
    ["0"],
    ["abc123"],
    ["0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"],
    ["pod_web-0.v1"],
    ["A.b-C_d"],
    ["a.."],
    ["x".repeat(255)],
  ])("valid %j is accepted", (id) => {
    for (const command of ["ADD", "CHECK", "DEL"]) expect(readCniEnv(envFor(command, { CNI_CONTAINERID: id })).containerId).toBe(id);
  });

  it.each([
    ["leading dot", ".abc"],
    ["dot", "."],
    ["dot dot", ".."],
    ["relative path", "../etc/passwd"],
    ["parent escape inside", "abc/../../etc"],
    ["slash", "a/b"],
    ["absolute path", "/var/lib/cni"],
    ["trailing slash", "abc/"],
    ["backslash", "a\\b"],
    ["leading hyphen", "-abc"],
    ["leading underscore", "_abc"],
    ["colon", "a:b"],
    ["space", "a b"],
    ["tab", "a\tb"],
    ["newline", "abc\n"],
    ["NUL", "a\0b"],
    ["semicolon", "a;b"],
    ["shell metacharacters", "a$(id)"],
    ["non-ASCII", "café"],
    ["too long (256)", "x".repeat(256)],
    ["very long (10000)", "a".repeat(10000)],
  ])("invalid (%s) is code 4 naming CNI_CONTAINERID", (_label, id) => {
    for (const command of ["ADD", "CHECK", "DEL"]) {
      const err = cniErrorOf(() => readCniEnv(envFor(command, { CNI_CONTAINERID: id })));
      expect(err.code).toBe(ErrorCode.InvalidEnvironment);
      expect(err.message).toContain("CNI_CONTAINERID");
    }
  });

  it("an invalid container ID is rejected even for GC, which does not require one", () => {
    const err = cniErrorOf(() => readCniEnv(envFor("GC", { CNI_CONTAINERID: "../x" })));
    expect(err.code).toBe(ErrorCode.InvalidEnvironment);
  });
});

describe("interfaceNameProblem and CNI_IFNAME", () => {
  it.each([
    ["eth0"],
    ["net1"],
    ["a"],
    ["x".repeat(15)],
    ["veth-1_2.3"],
    ["ipvl@n"],
    ["ééééééé"], // 14 bytes
  ])("valid %j", (name) => {
    expect(interfaceNameProblem(name)).toBeUndefined();
    expect(readCniEnv(envFor("ADD", { CNI_IFNAME: name })).ifname).toBe(name);
  });

  it.each([
    ["16 ASCII bytes", "x".repeat(16), /15 bytes/],
    ["very long", "eth".repeat(100), /15 bytes/],
    ["8 characters but 16 bytes", "éééééééé", /15 bytes/],
    ["14 ASCII plus one 2-byte character", "x".repeat(14) + "é", /15 bytes/],
    ["dot", ".", /\. or \.\./],
    ["dot dot", "..", /\. or \.\./],
    ["slash", "eth/0", /'\/'/],
    ["leading slash", "/eth0", /'\/'/],
    ["path escape", "../x", /'\/'/],
    ["colon", "eth0:1", /':'/],
    ["space", "eth 0", /whitespace/],
    ["leading space", " eth0", /whitespace/],
    ["tab", "eth\t0", /whitespace/],
    ["newline", "eth0\n", /whitespace/],
    ["carriage return", "eth\r0", /whitespace/],
    ["vertical tab", "eth\v0", /whitespace/],
    ["form feed", "eth\f0", /whitespace/],
    ["no-break space", "eth\u00a00", /whitespace/],
    ["NUL", "eth\u00000", /NUL/],
  ])("invalid (%s)", (_label, name, why) => {
    const problem = interfaceNameProblem(name);
    expect(problem).toBeDefined();
    expect(problem).toMatch(why);
    for (const command of ["ADD", "CHECK", "DEL"]) {
      const err = cniErrorOf(() => readCniEnv(envFor(command, { CNI_IFNAME: name })));
      expect(err.code).toBe(ErrorCode.InvalidEnvironment);
      expect(err.message).toContain("CNI_IFNAME");
      expect(err.message).toContain(problem!);
    }
  });

  it("an empty name is a problem (and missing for commands that need it)", () => {
    expect(interfaceNameProblem("")).toBe("is empty");
    const err = cniErrorOf(() => readCniEnv(envFor("ADD", { CNI_IFNAME: "" })));
    expect(err.code).toBe(ErrorCode.InvalidEnvironment);
    expect(err.message).toContain("CNI_IFNAME");
  });
});

describe("CNI_NETNS", () => {
  it.each(["/var/run/netns/x", "/proc/1234/ns/net", "/run/netns/cni-1a2b-3c4d"])("%j is passed through", (netns) => {
    expect(readCniEnv(envFor("ADD", { CNI_NETNS: netns })).netns).toBe(netns);
  });

  it("a NUL in CNI_NETNS is code 4", () => {
    const err = cniErrorOf(() => readCniEnv(envFor("ADD", { CNI_NETNS: "/var/run/netns/a\0b" })));
    expect(err.code).toBe(ErrorCode.InvalidEnvironment);
    expect(err.message).toContain("CNI_NETNS");
  });
});

describe("parseCniArgs", () => {
  it.each([
    ["undefined", undefined, []],
    ["empty", "", []],
    ["one pair", "K=V", [["K", "V"]]],
    [
      "kubernetes pod identity",
      "IgnoreUnknown=1;K8S_POD_NAMESPACE=kube-system;K8S_POD_NAME=coredns-abc;K8S_POD_INFRA_CONTAINER_ID=0123;K8S_POD_UID=1-2-3",
      [
        ["IgnoreUnknown", "1"],
        ["K8S_POD_NAMESPACE", "kube-system"],
        ["K8S_POD_NAME", "coredns-abc"],
        ["K8S_POD_INFRA_CONTAINER_ID", "0123"],
        ["K8S_POD_UID", "1-2-3"],
      ],
    ],
    ["empty value", "K=", [["K", ""]]],
    ["IP request", "IP=10.0.0.5", [["IP", "10.0.0.5"]]],
    ["several IPs in one value", "IP=10.0.0.5,fd00::5", [["IP", "10.0.0.5,fd00::5"]]],
    ["trailing semicolon", "A=1;", [["A", "1"]]],
    ["leading and doubled semicolons", ";A=1;;B=2", [["A", "1"], ["B", "2"]]],
    ["value holding '='", "A=b=c", [["A", "b=c"]]],
    ["repeated key: last wins", "A=1;A=2", [["A", "2"]]],
  ])("%s", (_label, raw, expected) => {
    const args = parseCniArgs(raw);
    expect([...args.entries()]).toEqual(expected);
  });

  it.each([
    ["no '='", "foo"],
    ["missing key", "=value"],
    ["one bad pair among good ones", "A=1;garbage;B=2"],
    ["only key with spaces", "A=1; ;B=2"],
  ])("malformed (%s) is code 4 naming the pair", (_label, raw) => {
    const err = cniErrorOf(() => parseCniArgs(raw));
    expect(err.code).toBe(ErrorCode.InvalidEnvironment);
    expect(err.message).toContain("CNI_ARGS");
  });

  it("readCniEnv parses CNI_ARGS and keeps the raw text", () => {
    const parsed = readCniEnv(envFor("ADD", { CNI_ARGS: "K8S_POD_NAME=a;K8S_POD_NAMESPACE=b" }));
    expect(parsed.args.get("K8S_POD_NAME")).toBe("a");
    expect(parsed.args.get("K8S_POD_NAMESPACE")).toBe("b");
    expect(parsed.rawArgs).toBe("K8S_POD_NAME=a;K8S_POD_NAMESPACE=b");
  });

  it.each(COMMANDS.map((c) => [c]))("a malformed CNI_ARGS is code 4 for %s", (command) => {
    const err = cniErrorOf(() => readCniEnv(envFor(command, { CNI_ARGS: "K8S_POD_NAME" })));
    expect(err.code).toBe(ErrorCode.InvalidEnvironment);
    expect(err.message).toContain('"K8S_POD_NAME"');
  });
});

// Bun hands the program U+FFFD in place of each invalid UTF-8 sequence of the
// environment (test/integration/ipam-names.test.ts checks that with raw bytes).
describe("names that were not valid UTF-8", () => {
  it.each([
    ["CNI_IFNAME", { CNI_IFNAME: "\uFFFD" }],
    ["CNI_IFNAME", { CNI_IFNAME: "eth\uFFFD" }],
    ["CNI_CONTAINERID", { CNI_CONTAINERID: "pod\uFFFD" }],
    ["CNI_NETNS", { CNI_NETNS: "/var/run/netns/\uFFFD" }],
    ["CNI_ARGS K8S_POD_NAMESPACE", { CNI_ARGS: "K8S_POD_NAMESPACE=n\uFFFD;K8S_POD_NAME=web-0" }],
    ["CNI_ARGS K8S_POD_NAME", { CNI_ARGS: "K8S_POD_NAMESPACE=default;K8S_POD_NAME=\uFFFD" }],
    ["CNI_ARGS K8S_POD_UID", { CNI_ARGS: "K8S_POD_UID=\uFFFD\uFFFD" }],
  ])("%s holding U+FFFD is code 4 naming it", (variable, overrides) => {
    const err = cniErrorOf(() => readCniEnv(envFor("ADD", overrides)));
    expect(err.code).toBe(ErrorCode.InvalidEnvironment);
    expect(err.message).toBe(`invalid ${variable}: not valid UTF-8 (or holds U+FFFD, the replacement character)`);
  });

  it("interface names in a configuration (master, podVethName...) are checked the same way", () => {
    expect(interfaceNameProblem("eth\uFFFD")).toMatch(/not valid UTF-8/);
  });

  it("other CNI_ARGS keys are not this plugin's to judge", () => {
    expect(readCniEnv(envFor("ADD", { CNI_ARGS: "IgnoreUnknown=1;OTHER=\uFFFD" })).args.get("OTHER")).toBe("\uFFFD");
  });

  it("valid non-ASCII names stay valid", () => {
    expect(readCniEnv(envFor("ADD", { CNI_IFNAME: "net-é", CNI_NETNS: "/var/run/netns/pod-é" })).ifname).toBe("net-é");
  });
});
