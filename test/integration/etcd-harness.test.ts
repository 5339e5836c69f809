// The etcd test harness itself, against real members: the gateway helpers, a
// killed member, a stopped leader, TLS with client certificates, and that
// nothing (process or temp dir) outlives a cluster, even when its test process dies.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { etcdAvailable, startEtcdCluster, type EtcdCluster } from "../helpers/etcd";
import { pollUntil, processState } from "../helpers/process";
import { httpRequest } from "../helpers/http-request";
import { BUN } from "../fixtures/net/scaffold";

const CLUSTER_THEN_DIE = fileURLToPath(new URL("../fixtures/etcd/cluster-then-die.ts", import.meta.url));
const b64 = (text: string) => Buffer.from(text).toString("base64");

/** A process is gone when /proc no longer has it or it is a zombie waiting for init to reap it. */
const gone = (pid: number) => [undefined, "Z"].includes(processState(pid));

/** etcd processes whose parent is this test process. */
function etcdChildren(): number[] {
  return readdirSync("/proc").flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return [];
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return stat.includes("(etcd)") && state !== "Z" && Number(ppid) === process.pid ? [Number(entry)] : [];
    } catch {
      return [];
    }
  });
}

const waitGone = (pids: number[]) => pollUntil(async () => (pids.every(gone) ? true : undefined), 10_000, () => `still alive: ${pids.filter((p) => !gone(p))}`);

describe.skipIf(!etcdAvailable())("etcd test harness", () => {
  describe("a 3-member cluster", () => {
    let etcd: EtcdCluster | undefined;
    beforeAll(async () => {
      etcd = await startEtcdCluster();
    });
    afterAll(() => etcd?.close());

    it("puts, gets and lists through the JSON gateway, in plain strings", async () => {
      expect(etcd!.endpoints).toHaveLength(3);
      expect(etcd!.members.map((m) => m.clientUrl)).toEqual(etcd!.endpoints);
      await etcd!.put("/harness/list/b", "2");
      await etcd!.put("/harness/list/a", "1");
      await etcd!.put("/harness/list/empty", "");
      await etcd!.put("/harness/list0", "outside the prefix");
      expect(await etcd!.get("/harness/list/a")).toBe("1");
      expect(await etcd!.get("/harness/list/empty")).toBe("");
      expect(await etcd!.get("/harness/missing")).toBeUndefined();
      expect(await etcd!.listPrefix("/harness/list/")).toEqual({ "/harness/list/a": "1", "/harness/list/b": "2", "/harness/list/empty": "" });
      // The wire format really is base64: the raw range answer carries the encoded key.
      const raw = await etcd!.request("/v3/kv/range", { key: b64("/harness/list/a") }, { member: 2 });
      expect(raw.kvs[0]).toMatchObject({ key: b64("/harness/list/a"), value: b64("1") });
    });

    it("with one member killed the other two answer a write; the restarted member has it", async () => {
      const follower = ((await etcd!.leader()) + 1) % 3;
      const pid = etcd!.members[follower]!.pid;
      await etcd!.kill(follower);
      expect(gone(pid)).toBe(true);
      const err = await httpRequest(`${etcd!.endpoints[follower]}/v3/kv/range`, { body: "{}" }).catch((e: NodeJS.ErrnoException) => e);
      expect(err).toMatchObject({ code: "ECONNREFUSED" });
      const others = [0, 1, 2].filter((i) => i !== follower);
      for (const i of others) await etcd!.put(`/harness/killed/${i}`, "written", { member: i });
      expect(await etcd!.listPrefix("/harness/killed/", { member: others[1] })).toEqual(
        Object.fromEntries(others.map((i) => [`/harness/killed/${i}`, "written"])),
      );
      await etcd!.restart(follower);
      expect(etcd!.members[follower]!.pid).not.toBe(pid);
      expect(await etcd!.get(`/harness/killed/${others[0]}`, { member: follower })).toBe("written");
    });

    it("a SIGSTOPped leader hangs its requests and is replaced; writes work, and it catches up after SIGCONT", async () => {
      const old = await etcd!.leader();
      await etcd!.stop(old);
      try {
        // Its socket still accepts, so a request just gets no answer.
        await expect(etcd!.get("/harness/any", { member: old, timeoutMs: 300 })).rejects.toThrow(/no answer within 300 ms/);
        const next = await pollUntil(
          () => etcd!.leader().then((l) => (l !== old ? l : undefined), () => undefined),
          30_000,
          () => `no leader other than ${etcd!.members[old]!.name}`,
        );
        expect(next).not.toBe(old);
        await etcd!.put("/harness/stopped", "new term");
      } finally {
        etcd!.cont(old);
      }
      await etcd!.waitHealthy();
      expect(await etcd!.get("/harness/stopped", { member: old })).toBe("new term");
    });
  });

  describe("TLS with client certificates", () => {
    let etcd: EtcdCluster | undefined;
    beforeAll(async () => {
      etcd = await startEtcdCluster({ tls: true });
    });
    afterAll(() => etcd?.close());

    it("answers a request with the client certificate and refuses one without it", async () => {
      expect(etcd!.endpoints.every((url) => url.startsWith("https://127.0.0.1:"))).toBe(true);
      for (const file of Object.values(etcd!.tls!)) expect(existsSync(file)).toBe(true);
      await etcd!.put("/harness/tls", "secret");
      expect(await etcd!.get("/harness/tls")).toBe("secret");

      const ca = readFileSync(etcd!.tls!.caFile);
      const body = JSON.stringify({ key: b64("/harness/tls") });
      await expect(httpRequest(`${etcd!.endpoints[0]}/v3/kv/range`, { body, tls: { ca } })).rejects.toThrow(/certificate required|bad certificate/);
      const withCert = { ca, cert: readFileSync(etcd!.tls!.certFile), key: readFileSync(etcd!.tls!.keyFile) };
      expect((await httpRequest(`${etcd!.endpoints[0]}/v3/kv/range`, { body, tls: withCert })).status).toBe(200);
    });
  });

  describe("nothing outlives a cluster", () => {
    it("close() kills every member, stopped ones too, and removes the temp dir; a second close() is harmless", async () => {
      const etcd = await startEtcdCluster();
      const pids = etcd.members.map((m) => m.pid);
      await etcd.stop(1);
      await etcd.close();
      expect(pids.filter((pid) => !gone(pid))).toEqual([]);
      expect(existsSync(etcd.dir)).toBe(false);
      await etcd.close();
    });

    it("a start that fails kills the members it started and removes its temp dir", async () => {
      // No cluster can elect a leader within 1 ms, so this start fails after spawning every member.
      const err = (await startEtcdCluster({ readyTimeoutMs: 1 }).catch((e: Error) => e)) as Error;
      expect(err.message).toMatch(/not healthy/);
      const dir = /(\/\S+\/etcd-test-[^/\s]+)\//.exec(err.message)?.[1];
      expect(dir).toBeDefined();
      expect(existsSync(dir!)).toBe(false);
      expect(etcdChildren()).toEqual([]);
    });

    it.each(["throw", "hang"])("a test process that dies (%s) leaves no member running", async (how) => {
      const child = spawn(BUN, [CLUSTER_THEN_DIE, how], { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      const started = await new Promise<{ pids: number[]; dir: string }>((resolve, reject) => {
        child.stdout.on("data", (chunk: Buffer) => {
          stdout += chunk.toString();
          if (stdout.includes("\n")) resolve(JSON.parse(stdout));
        });
        child.once("exit", (code) => reject(new Error(`fixture exited ${code} before starting its cluster: ${stderr}`)));
      });
      try {
        expect(started.pids.some(gone)).toBe(false);
        if (how === "hang") child.kill("SIGKILL"); // no exit hook runs: the parent-death signal must do
        await exited;
        await waitGone(started.pids);
        // The exit hook also removes the temp dir; a SIGKILLed process cannot.
        if (how === "throw") expect(existsSync(started.dir)).toBe(false);
      } finally {
        await rm(started.dir, { recursive: true, force: true });
      }
    });
  });
});
