import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CniError, ErrorCode } from "../../lib/cni/errors";
import { formatError } from "../../lib/cni/skel";
import type { CniResult } from "../../lib/cni/types";
import { SUPPORTED_VERSIONS } from "../../lib/cni/version";
import { conf, confText, envFor, expectOneErrorObject, recorder, run, VERSIONS, type SpecVersion } from "./helpers/cni";

const COMMANDS = ["ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION"] as const;
const HANDLER_COMMANDS = ["ADD", "DEL", "CHECK", "GC", "STATUS"] as const;
type HandlerCommand = (typeof HANDLER_COMMANDS)[number];
const handlerName = (c: HandlerCommand) => c.toLowerCase() as "add" | "del" | "check" | "gc" | "status";

/** The lowest config version each command accepts. */
const MIN_VERSION: Record<HandlerCommand, SpecVersion> = { ADD: "0.3.0", DEL: "0.3.0", CHECK: "0.4.0", GC: "1.1.0", STATUS: "1.1.0" };
const allowed = (c: HandlerCommand, v: SpecVersion) => VERSIONS.indexOf(v) >= VERSIONS.indexOf(MIN_VERSION[c]);

const RESULT: CniResult = {
  cniVersion: "1.1.0",
  interfaces: [{ name: "eth0", mac: "0a:58:0a:00:00:05", mtu: 9001, sandbox: "/var/run/netns/cni-test" }],
  ips: [
    { address: "10.0.0.5/24", gateway: "10.0.0.1", interface: 0 },
    { address: "fd00::5/64", gateway: "fd00::1", interface: 0 },
  ],
  routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1", priority: 10 }],
  dns: { nameservers: ["10.0.0.2"] },
};

const STACK_LINE = /\n\s+at /;

describe("dispatch: environment errors (code 4)", () => {
  const REQUIRED: Record<string, string[]> = {
    ADD: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"],
    CHECK: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"],
    DEL: ["CNI_CONTAINERID", "CNI_IFNAME"],
    GC: ["CNI_PATH"],
  };
  const cases = Object.entries(REQUIRED).flatMap(([command, vars]) => vars.map((v): [string, string] => [command, v]));

  it.each(cases)("%s without %s: one error object naming it, handler not run", async (command, missing) => {
    const rec = recorder();
    const r = await run(rec.commands, envFor(command, { [missing]: undefined }), confText());
    const e = expectOneErrorObject(r);
    expect(e.code).toBe(4);
    expect(e.msg).toContain(missing);
    expect(rec.calls).toEqual([]);
    expect(r.outcome.error?.code).toBe(4);
    expect(r.stderr).toContain(missing);
  });

  it.each(Object.entries(REQUIRED))("%s with none of its variables names all of %j", async (command, vars) => {
    const env: Record<string, string> = { CNI_COMMAND: command };
    const e = expectOneErrorObject(await run(recorder().commands, env, confText()));
    expect(e.code).toBe(4);
    for (const v of vars) expect(e.msg).toContain(v);
  });

  it.each([
    ["VERSION", ""],
    ["STATUS", confText()],
  ])("%s runs with only CNI_COMMAND set", async (command, stdin) => {
    const r = await run(recorder().commands, { CNI_COMMAND: command }, stdin);
    expect(r.outcome.exitCode).toBe(0);
  });

  it("DEL runs without CNI_NETNS", async () => {
    const rec = recorder();
    const r = await run(rec.commands, envFor("DEL", { CNI_NETNS: undefined }), confText());
    expect(r.outcome.exitCode).toBe(0);
    expect(rec.calls.map((c) => c.name)).toEqual(["del"]);
    expect(rec.calls[0]!.req.env.netns).toBe("");
  });

  it.each([["missing", undefined], ["empty", ""], ["lowercase", "add"], ["unknown", "FOO"], ["padded", "ADD "]])(
    "CNI_COMMAND %s is code 4",
    async (_label, command) => {
      const rec = recorder();
      const e = expectOneErrorObject(await run(rec.commands, envFor("ADD", { CNI_COMMAND: command }), confText()));
      expect(e.code).toBe(4);
      expect(e.msg).toContain("CNI_COMMAND");
      expect(rec.calls).toEqual([]);
    },
  );

  it.each([
    ["CNI_CONTAINERID", "../../etc"],
    ["CNI_CONTAINERID", "/abs"],
    ["CNI_CONTAINERID", "a/b"],
    ["CNI_CONTAINERID", "x".repeat(4096)],
    ["CNI_IFNAME", "x".repeat(16)],
    ["CNI_IFNAME", "."],
    ["CNI_IFNAME", ".."],
    ["CNI_IFNAME", "eth/0"],
    ["CNI_IFNAME", "eth:0"],
    ["CNI_IFNAME", "eth 0"],
    ["CNI_IFNAME", "eth\u00000"],
    ["CNI_ARGS", "K8S_POD_NAME"],
    ["CNI_ARGS", "=x"],
  ])("%s=%j is code 4 naming the variable", async (name, value) => {
    for (const command of ["ADD", "DEL", "CHECK"]) {
      const rec = recorder();
      const e = expectOneErrorObject(await run(rec.commands, envFor(command, { [name]: value }), confText()));
      expect(e.code).toBe(4);
      expect(e.msg).toContain(name);
      expect(rec.calls).toEqual([]);
    }
  });

  it("an env error is stamped with the latest version (stdin is not read yet)", async () => {
    const r = await run(recorder().commands, envFor("ADD", { CNI_IFNAME: undefined }), confText("0.4.0"));
    const e = expectOneErrorObject(r);
    expect(SUPPORTED_VERSIONS).toContain(e.cniVersion);
    expect(r.stdinReads).toBe(0);
  });
});

describe("dispatch: version negotiation", () => {
  const cases = HANDLER_COMMANDS.flatMap((c) => VERSIONS.map((v): [HandlerCommand, SpecVersion, boolean] => [c, v, allowed(c, v)]));

  it.each(cases)("%s with cniVersion %s: accepted=%s", async (command, v, ok) => {
    const rec = recorder();
    const r = await run(rec.commands, envFor(command), confText(v));
    if (ok) {
      expect(r.outcome.exitCode).toBe(0);
      expect(rec.calls.map((c) => c.name)).toEqual([handlerName(command)]);
      expect(rec.calls[0]!.req.conf.cniVersion).toBe(v);
    } else {
      const e = expectOneErrorObject(r);
      expect(e.code).toBe(1);
      expect(e.cniVersion).toBe(v);
      expect(e.msg).toContain(command);
      expect(rec.calls).toEqual([]);
    }
  });

  const unknown: [string, unknown][] = [
    ["0.1.0", "0.1.0"],
    ["0.2.0", "0.2.0"],
    ["2.0.0", "2.0.0"],
    ["1.0", "1.0"],
    ["empty string", ""],
    ["missing", undefined],
    ["null", null],
    ["number", 1],
    ["array", ["1.0.0"]],
    ["object", {}],
  ];
  const unknownCases = HANDLER_COMMANDS.flatMap((c) => unknown.map(([label, v]): [HandlerCommand, string, unknown] => [c, label, v]));

  it.each(unknownCases)("%s with cniVersion %s is code 1 naming the supported versions", async (command, _label, v) => {
    const rec = recorder();
    // Spread so that an undefined version really is left out of the JSON.
    const stdin = JSON.stringify({ ...conf(), cniVersion: v });
    expect(JSON.parse(stdin).cniVersion).toEqual(v === undefined ? undefined : v);
    const e = expectOneErrorObject(await run(rec.commands, envFor(command), stdin));
    expect(e.code).toBe(1);
    for (const s of SUPPORTED_VERSIONS) expect(e.msg).toContain(s);
    expect(rec.calls).toEqual([]);
  });

  it("a config version that looks like a version is echoed in the error, otherwise the latest is used", async () => {
    expect(expectOneErrorObject(await run(recorder().commands, envFor("ADD"), confText("2.0.0"))).cniVersion).toBe("2.0.0");
    expect(expectOneErrorObject(await run(recorder().commands, envFor("ADD"), confText("banana"))).cniVersion).toBe("1.1.0");
    expect(expectOneErrorObject(await run(recorder().commands, envFor("ADD"), confText(7))).cniVersion).toBe("1.1.0");
  });
});

describe("dispatch: VERSION", () => {
  const supported = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

  it.each([["empty", ""], ["whitespace", "  \n\t"], ["newline", "\n"]])("works with %s stdin", async (_label, stdin) => {
    const rec = recorder();
    const r = await run(rec.commands, { CNI_COMMAND: "VERSION" }, stdin);
    expect(r.outcome).toMatchObject({ exitCode: 0, command: "VERSION" });
    expect(r.outcome.error).toBeUndefined();
    expect(r.stdoutWrites).toHaveLength(1);
    expect(JSON.parse(r.stdout)).toStrictEqual({ cniVersion: "1.1.0", supportedVersions: supported });
    expect(rec.calls).toEqual([]);
  });

  it.each(VERSIONS.map((v) => [v]))("answers in the config's version %s", async (v) => {
    const r = await run(recorder().commands, envFor("VERSION"), JSON.stringify({ cniVersion: v }));
    expect(r.outcome.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toStrictEqual({ cniVersion: v, supportedVersions: supported });
  });

  it.each([["0.2.0", "0.2.0"], ["nonsense", "1.1.0"], [5, "1.1.0"]])("config version %j answers with cniVersion %s", async (v, answer) => {
    const r = await run(recorder().commands, envFor("VERSION"), JSON.stringify({ cniVersion: v }));
    expect(r.outcome.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toStrictEqual({ cniVersion: answer, supportedVersions: supported });
  });

  it("needs neither name nor type", async () => {
    const r = await run(recorder().commands, envFor("VERSION"), JSON.stringify({ cniVersion: "1.0.0" }));
    expect(r.outcome.exitCode).toBe(0);
  });

  it("bad JSON on stdin is still code 6", async () => {
    const e = expectOneErrorObject(await run(recorder().commands, envFor("VERSION"), "{not json"));
    expect(e.code).toBe(6);
  });
});

describe("dispatch: decoding and config shape", () => {
  it.each([
    ["empty stdin", ""],
    ["whitespace", "  \n"],
    ["truncated", '{"cniVersion":"1.0.0","name":"n"'],
    ["garbage", "not json"],
    ["trailing garbage", `${confText()}}`],
    ["single quotes", "{'cniVersion':'1.0.0'}"],
  ])("%s is code 6", async (_label, stdin) => {
    for (const command of HANDLER_COMMANDS) {
      const rec = recorder();
      const e = expectOneErrorObject(await run(rec.commands, envFor(command), stdin));
      expect(e.code).toBe(6);
      expect(rec.calls).toEqual([]);
    }
  });

  it("the JSON parser's complaint goes in details", async () => {
    const e = expectOneErrorObject(await run(recorder().commands, envFor("ADD"), "{oops"));
    expect(e.code).toBe(6);
    expect(e.details).not.toBe("");
    expect(e.details).not.toMatch(STACK_LINE);
  });

  it.each([["array", "[]"], ["number", "42"], ["string", '"1.0.0"'], ["null", "null"], ["boolean", "true"], ["array of config", `[${confText()}]`]])(
    "non-object JSON (%s) is code 6",
    async (_label, stdin) => {
      for (const command of [...HANDLER_COMMANDS, "VERSION"]) {
        const e = expectOneErrorObject(await run(recorder().commands, envFor(command), stdin));
        expect(e.code).toBe(6);
      }
    },
  );

  const badShape: [string, Record<string, unknown>, string][] = [
    ["missing name", { name: undefined }, "name"],
    ["empty name", { name: "" }, "name"],
    ["numeric name", { name: 5 }, "name"],
    ["null name", { name: null }, "name"],
    ["name with slash", { name: "../net" }, "name"],
    ["name with space", { name: "my net" }, "name"],
    ["name starting with a dot", { name: ".net" }, "name"],
    ["name too long", { name: "n".repeat(254) }, "name"],
    ["missing type", { type: undefined }, "type"],
    ["empty type", { type: "" }, "type"],
    ["numeric type", { type: 1 }, "type"],
    ["object type", { type: {} }, "type"],
  ];
  it.each(badShape)("%s is code 7", async (_label, extra, field) => {
    for (const command of HANDLER_COMMANDS) {
      const rec = recorder();
      const e = expectOneErrorObject(await run(rec.commands, envFor(command), JSON.stringify(conf("1.1.0", extra))));
      expect(e.code).toBe(7);
      expect(e.msg).toContain(field);
      expect(e.cniVersion).toBe("1.1.0");
      expect(rec.calls).toEqual([]);
    }
  });

  it("accepts names with letters, digits, '_', '.', '-' up to 253 characters", async () => {
    for (const name of ["a", "underlay-net", "net_1.v2", "n".repeat(253)]) {
      const r = await run(recorder().commands, envFor("ADD"), JSON.stringify(conf("1.1.0", { name })));
      expect(r.outcome.exitCode).toBe(0);
    }
  });

  it("a malformed prevResult is code 6, and an unsupported prevResult version code 1", async () => {
    const bad = await run(recorder().commands, envFor("CHECK"), confText("1.0.0", { prevResult: { ips: "nope" } }));
    expect(expectOneErrorObject(bad).code).toBe(6);
    const old = await run(recorder().commands, envFor("CHECK"), confText("1.0.0", { prevResult: { cniVersion: "0.2.0" } }));
    expect(expectOneErrorObject(old).code).toBe(1);
  });

  it("a failure to read stdin is code 5", async () => {
    const rec = recorder();
    const r = await run(rec.commands, envFor("ADD"), () => {
      throw Object.assign(new Error("EIO: i/o error, read"), { code: "EIO" });
    });
    const e = expectOneErrorObject(r);
    expect(e.code).toBe(5);
    expect(e.details).toContain("EIO");
    expect(rec.calls).toEqual([]);
  });
});

describe("dispatch: success output", () => {
  const expectedAdd: Record<SpecVersion, unknown> = {
    "0.3.0": {
      cniVersion: "0.3.0",
      interfaces: [{ name: "eth0", mac: "0a:58:0a:00:00:05", sandbox: "/var/run/netns/cni-test" }],
      ips: [
        { version: "4", address: "10.0.0.5/24", gateway: "10.0.0.1", interface: 0 },
        { version: "6", address: "fd00::5/64", gateway: "fd00::1", interface: 0 },
      ],
      routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1" }],
      dns: { nameservers: ["10.0.0.2"] },
    },
    "0.3.1": undefined,
    "0.4.0": undefined,
    "1.0.0": {
      cniVersion: "1.0.0",
      interfaces: [{ name: "eth0", mac: "0a:58:0a:00:00:05", sandbox: "/var/run/netns/cni-test" }],
      ips: [
        { address: "10.0.0.5/24", gateway: "10.0.0.1", interface: 0 },
        { address: "fd00::5/64", gateway: "fd00::1", interface: 0 },
      ],
      routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1" }],
      dns: { nameservers: ["10.0.0.2"] },
    },
    "1.1.0": {
      cniVersion: "1.1.0",
      interfaces: [{ name: "eth0", mac: "0a:58:0a:00:00:05", mtu: 9001, sandbox: "/var/run/netns/cni-test" }],
      ips: [
        { address: "10.0.0.5/24", gateway: "10.0.0.1", interface: 0 },
        { address: "fd00::5/64", gateway: "fd00::1", interface: 0 },
      ],
      routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1", priority: 10 }],
      dns: { nameservers: ["10.0.0.2"] },
    },
  };
  expectedAdd["0.3.1"] = { ...(expectedAdd["0.3.0"] as object), cniVersion: "0.3.1" };
  expectedAdd["0.4.0"] = { ...(expectedAdd["0.3.0"] as object), cniVersion: "0.4.0" };

  it.each(VERSIONS.map((v) => [v]))("ADD at %s prints the result converted to that version and exits 0", async (v) => {
    const rec = recorder(RESULT);
    const r = await run(rec.commands, envFor("ADD"), confText(v));
    expect(r.outcome.exitCode).toBe(0);
    expect(r.outcome.command).toBe("ADD");
    expect(r.outcome.error).toBeUndefined();
    expect(r.outcome.result).toEqual(RESULT);
    expect(r.stdoutWrites).toHaveLength(1);
    expect(r.stdout.endsWith("\n")).toBe(true);
    expect(JSON.parse(r.stdout)).toStrictEqual(expectedAdd[v]);
    expect(r.stderr).toBe("");
  });

  it("ADD with an async handler prints its result", async () => {
    const rec = recorder(RESULT, { add: async () => new Promise((res) => setTimeout(() => res(RESULT), 5)) });
    const r = await run(rec.commands, envFor("ADD"), confText("1.0.0"));
    expect(r.outcome.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toStrictEqual(expectedAdd["1.0.0"]);
  });

  it.each(HANDLER_COMMANDS.filter((c) => c !== "ADD").map((c) => [c]))("%s prints nothing on success and exits 0", async (command) => {
    const rec = recorder();
    const r = await run(rec.commands, envFor(command), confText("1.1.0"));
    expect(r.outcome).toMatchObject({ exitCode: 0, command });
    expect(r.outcome.error).toBeUndefined();
    expect(r.outcome.result).toBeUndefined();
    expect(r.stdout).toBe("");
    expect(r.stdoutWrites).toEqual([]);
    expect(r.stderr).toBe("");
    expect(rec.calls.map((c) => c.name)).toEqual([handlerName(command as HandlerCommand)]);
  });

  it("hands the handler the parsed env, the whole config with unknown keys, and the exact stdin bytes", async () => {
    const rec = recorder();
    const stdin = `  ${JSON.stringify(
      conf("1.0.0", {
        ipam: { type: "spiderpool-ipam", pools: ["a"] },
        runtimeConfig: { ips: ["10.0.0.9/24"] },
        args: { cni: { ips: ["10.0.0.9"] } },
        vendorKey: { anything: [1, 2, 3] },
      }),
      null,
      2,
    )}\n`;
    const r = await run(rec.commands, envFor("ADD"), stdin);
    expect(r.outcome.exitCode).toBe(0);
    const req = rec.calls[0]!.req;
    expect(req.stdin).toBe(stdin);
    expect(req.conf).toEqual(JSON.parse(stdin));
    expect(req.env.command).toBe("ADD");
    expect(req.env.ifname).toBe("eth0");
    expect(req.env.args.get("K8S_POD_NAME")).toBe("web-0");
    expect(req.prevResult).toBeUndefined();
  });

  it.each(VERSIONS.filter((v) => v !== "0.3.0" && v !== "0.3.1").map((v) => [v]))(
    "CHECK at %s gets prevResult in the internal 1.1.0 shape",
    async (v) => {
      const legacy = v === "0.4.0";
      const prevResult = {
        cniVersion: v,
        interfaces: [{ name: "eth0", sandbox: "/var/run/netns/cni-test" }],
        ips: [legacy ? { version: "4", address: "10.0.0.5/24", interface: 0 } : { address: "10.0.0.5/24", interface: 0 }],
        routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1" }],
      };
      const rec = recorder();
      const r = await run(rec.commands, envFor("CHECK"), confText(v, { prevResult }));
      expect(r.outcome.exitCode).toBe(0);
      expect(rec.calls[0]!.req.prevResult).toStrictEqual({
        cniVersion: v,
        interfaces: [{ name: "eth0", sandbox: "/var/run/netns/cni-test" }],
        ips: [{ address: "10.0.0.5/24", interface: 0 }],
        routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1" }],
      });
    },
  );

  it("a null prevResult is treated as absent", async () => {
    const rec = recorder();
    await run(rec.commands, envFor("ADD"), confText("1.0.0", { prevResult: null }));
    expect(rec.calls[0]!.req.prevResult).toBeUndefined();
  });
});

describe("dispatch: handler failures", () => {
  const cases = HANDLER_COMMANDS.map((c): [HandlerCommand] => [c]);

  it.each(cases)("%s: a CniError's code, msg and details pass through unchanged", async (command) => {
    for (const [code, msg, details] of [
      [101, "pool exhausted", "pool default-v4 has 0 free of 16"],
      [3, "unknown container", ""],
      [11, "try again later", "store is locked"],
      [50, "plugin not available", "master eth1 is down"],
      [7, 'invalid "mode": "l4"', ""],
    ] as const) {
      const rec = recorder(undefined, {
        [handlerName(command)]: () => {
          throw new CniError(code, msg, details);
        },
      });
      const r = await run(rec.commands, envFor(command), confText("1.1.0"));
      const e = expectOneErrorObject(r);
      expect(e).toStrictEqual({ cniVersion: "1.1.0", code, msg, details });
      expect(r.outcome.exitCode).not.toBe(0);
      expect(r.outcome.error).toBeInstanceOf(CniError);
      expect(r.stderr).not.toMatch(STACK_LINE);
    }
  });

  it.each(cases)("%s: a rejected promise with a CniError is reported the same way", async (command) => {
    const rec = recorder(undefined, { [handlerName(command)]: async () => Promise.reject(new CniError(109, "ipam failed", "exit 1")) });
    const e = expectOneErrorObject(await run(rec.commands, envFor(command), confText("1.1.0")));
    expect(e).toStrictEqual({ cniVersion: "1.1.0", code: 109, msg: "ipam failed", details: "exit 1" });
  });

  it.each(cases)("%s: a plain Error is an internal error without a stack on stdout; the stack goes to stderr", async (command) => {
    const boom = new Error("boom");
    const rec = recorder(undefined, {
      [handlerName(command)]: () => {
        throw boom;
      },
    });
    const r = await run(rec.commands, envFor(command), confText("1.1.0"));
    const e = expectOneErrorObject(r);
    expect(e.code).toBe(ErrorCode.Internal);
    expect(e.msg).toBe("internal error: boom");
    expect(e.details).toBe("");
    expect(r.stdout).not.toMatch(STACK_LINE);
    expect(r.stdout).not.toContain("cni-skel.test");
    expect(r.stderr).toContain(boom.stack!);
    expect(r.stderr).toMatch(STACK_LINE);
  });

  const nonErrors: [string, unknown, string][] = [
    ["string", "just a string", "just a string"],
    ["number", 42, "42"],
    ["undefined", undefined, "undefined"],
    ["null", null, "null"],
    ["plain object", { reason: "x" }, "[object Object]"],
    ["errno-like object that is not an Error", { code: "ENOENT", message: "nope" }, "[object Object]"],
  ];
  it.each(nonErrors)("a thrown non-Error value (%s) becomes one internal error object", async (_label, value, shown) => {
    for (const command of HANDLER_COMMANDS) {
      const rec = recorder(undefined, {
        [handlerName(command)]: () => {
          throw value;
        },
      });
      const v = allowed(command, "0.4.0") ? "0.4.0" : "1.1.0";
      const r = await run(rec.commands, envFor(command), confText(v));
      const e = expectOneErrorObject(r);
      expect(e.code).toBe(ErrorCode.Internal);
      expect(e.msg).toBe(`internal error: ${shown}`);
      expect(e.cniVersion).toBe(v);
      expect(r.stdout).not.toMatch(STACK_LINE);
      expect(r.stderr).toContain(command);
    }
  });

  it.each([
    ["ENOENT", "ENOENT: no such file or directory, open '/var/lib/x'"],
    ["EACCES", "EACCES: permission denied"],
    ["ENOSPC", "ENOSPC: no space left on device"],
    ["EEXIST", "EEXIST: file already exists"],
  ])("an errno-style Error (%s) is code 5 with the errno in details", async (errno, message) => {
    for (const command of HANDLER_COMMANDS) {
      const rec = recorder(undefined, {
        [handlerName(command)]: () => {
          throw Object.assign(new Error(message), { code: errno, errno: -2, syscall: "open" });
        },
      });
      const r = await run(rec.commands, envFor(command), confText("1.1.0"));
      const e = expectOneErrorObject(r);
      expect(e).toStrictEqual({ cniVersion: "1.1.0", code: 5, msg: message, details: errno });
      expect(r.stdout).not.toMatch(STACK_LINE);
    }
  });

  it("a real filesystem error from node:fs is code 5", async () => {
    const rec = recorder(undefined, { add: () => readFileSync("/nonexistent/cni-skel-test/file") });
    const e = expectOneErrorObject(await run(rec.commands, envFor("ADD"), confText("1.1.0")));
    expect(e.code).toBe(5);
    expect(e.details).toBe("ENOENT");
    expect(e.msg).toContain("/nonexistent/cni-skel-test/file");
  });

  it("a Node error code that is not errno-style (ERR_*) is internal, not I/O", async () => {
    const rec = recorder(undefined, {
      add: () => {
        throw Object.assign(new TypeError("bad arg"), { code: "ERR_INVALID_ARG_TYPE" });
      },
    });
    const e = expectOneErrorObject(await run(rec.commands, envFor("ADD"), confText("1.1.0")));
    expect(e.code).toBe(ErrorCode.Internal);
  });
});

describe("dispatch: the error's cniVersion", () => {
  it.each(VERSIONS.map((v) => [v]))("is the config's version %s when the config parses", async (v) => {
    const rec = recorder(undefined, {
      add: () => {
        throw new CniError(101, "pool exhausted");
      },
      del: () => {
        throw new CniError(101, "pool exhausted");
      },
    });
    for (const command of ["ADD", "DEL"]) {
      const e = expectOneErrorObject(await run(rec.commands, envFor(command), confText(v)));
      expect(e.cniVersion).toBe(v);
    }
    // A shape error (code 7) after the version check also carries it.
    const shape = expectOneErrorObject(await run(rec.commands, envFor("ADD"), JSON.stringify(conf(v, { type: undefined }))));
    expect(shape).toMatchObject({ cniVersion: v, code: 7 });
  });

  it("is the top-level cniVersion even when prevResult (with its own) comes first in the text", async () => {
    const stdin = `{"prevResult":{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.0.0.5/24"}]},"cniVersion":"1.0.0","name":"n","type":"t"}`;
    const rec = recorder(undefined, {
      check: () => {
        throw new CniError(110, "allocation missing");
      },
    });
    const e = expectOneErrorObject(await run(rec.commands, envFor("CHECK"), stdin));
    expect(e).toStrictEqual({ cniVersion: "1.0.0", code: 110, msg: "allocation missing", details: "" });
  });

  it("is the top-level cniVersion even when a plugin key holding a cniVersion comes first", async () => {
    const stdin = `{"name":"n","delegate":{"cniVersion":"0.3.1"},"cniVersion":"1.1.0","type":"t"}`;
    const rec = recorder(undefined, {
      add: () => {
        throw new CniError(104, "master not found");
      },
    });
    expect(expectOneErrorObject(await run(rec.commands, envFor("ADD"), stdin)).cniVersion).toBe("1.1.0");
  });

  it("falls back to a supported version when stdin is not JSON", async () => {
    const e = expectOneErrorObject(await run(recorder().commands, envFor("ADD"), "garbage"));
    expect(e.code).toBe(6);
    expect(SUPPORTED_VERSIONS).toContain(e.cniVersion);
  });
});

describe("formatError", () => {
  it("renders exactly {cniVersion, code, msg, details} as one line", () => {
    const text = formatError(new CniError(4, 'required env variables [CNI_IFNAME] missing for ADD', ""), "0.4.0");
    expect(text.endsWith("\n")).toBe(true);
    expect(text.trim()).not.toContain("\n");
    const parsed = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(["cniVersion", "code", "msg", "details"]);
    expect(parsed).toStrictEqual({ cniVersion: "0.4.0", code: 4, msg: "required env variables [CNI_IFNAME] missing for ADD", details: "" });
  });

  it("escapes newlines and quotes in msg and details", () => {
    const text = formatError(new CniError(7, 'bad "x"\nsecond line', "a\nb"), "1.1.0");
    expect(text.trim()).not.toContain("\n");
    expect(JSON.parse(text)).toStrictEqual({ cniVersion: "1.1.0", code: 7, msg: 'bad "x"\nsecond line', details: "a\nb" });
  });
});

describe("dispatch: every command's error goes to stdout exactly once", () => {
  it.each(COMMANDS.map((c) => [c]))("%s with a bad config", async (command) => {
    const r = await run(recorder().commands, envFor(command), "[1,2]");
    expectOneErrorObject(r);
    expect(r.stderr).toContain(command);
    expect(r.stderr.endsWith("\n")).toBe(true);
  });
});
