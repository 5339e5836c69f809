// A damaged store: detected and reported (code 5, file named), never reset;
// `store check` lists every problem and `store repair` fixes what it can
// without ever letting one address be handed out twice.
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, rm, writeFile, chmod } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cniError, cniOk, describeRun, type CniOutput } from "../helpers/cni";
import { IpamSandbox, addressesOf, useIpamSandbox } from "./ipam-harness";
import { diffSnapshots, readStore, rng, snapshot, verifyStore } from "../../scripts/reliability/lib/common.mjs";

const V4 = ["172.31.28.16", "172.31.28.17", "172.31.28.18"];
const V6 = ["2406:da1e:c4:ed01:c57d::", "2406:da1e:c4:ed01:c57d::1", "2406:da1e:c4:ed01:c57d::2"];

let box: IpamSandbox;
useIpamSandbox((b) => (box = b));

const recordPath = (id: string, ifname = "eth0") => join(box.dataDir, "attachments", id, ifname);
const claimPath = (address: string) => join(box.dataDir, "ips", address);

interface Problem {
  kind: string;
  path: string;
  message: string;
}

async function check(): Promise<{ code: number | null; problems: Problem[]; notices: string[] }> {
  const out = await box.cli(["store", "check", "-o", "json", ...box.dirArgs()]);
  expect(out.stderr, describeRun(out)).toBe("");
  const json = JSON.parse(out.stdout) as { problems: Problem[]; notices: string[] };
  return { code: out.code, ...json };
}

async function repair(...extra: string[]) {
  const out = await box.cli(["store", "repair", ...extra, ...box.dirArgs()]);
  expect(out.code, describeRun(out)).toBe(0);
  return out.stdout;
}

/** Three pods a, b, c holding .16/::, .17/::1, .18/::2. */
async function threePods(): Promise<Map<string, string[]>> {
  const live = new Map<string, string[]>();
  for (const id of ["a", "b", "c"]) live.set(`${id}/eth0`, addressesOf(cniOk(await box.add(id))));
  expect([...live.values()].map((a) => a[0])).toEqual(V4);
  return live;
}

/** ADDs new pods until the pools are exhausted; none may get an address of `held`. */
async function fillAndCheck(held: string[]): Promise<string[]> {
  const given: string[] = [];
  for (let i = 0; i < 20; i++) {
    const out: CniOutput = await box.add(`fill-${i}`);
    if (out.code !== 0) {
      expect(cniError(out).code).toBe(101);
      break;
    }
    given.push(...addressesOf(cniOk(out)));
  }
  for (const a of held) expect(given, `${a} was handed out again`).not.toContain(a);
  return given;
}

describe("damage is reported, never reset", () => {
  it("a truncated record: ADD and DEL of that pod fail with code 5 naming the file; the file and its claims stay", async () => {
    await threePods();
    const file = recordPath("b");
    const text = await readFile(file, "utf8");
    await writeFile(file, text.slice(0, 40));
    for (const out of [await box.add("b"), await box.del("b"), await box.check("b", {})]) {
      const err = cniError(out);
      expect(err.code).toBe(5);
      expect(err.msg).toContain(file);
      expect(err.msg).toContain("spiderpool-ipam store check");
    }
    expect(await readFile(file, "utf8")).toBe(text.slice(0, 40));
    expect(await box.claims()).toContain(V4[1]);
    // Other pods are served, and never with b's addresses.
    await fillAndCheck([V4[1]!, V6[1]!]);
  });

  it("a garbled claim: its owner's DEL and GC fail with code 5 naming it; the address stays in use", async () => {
    await threePods();
    const file = claimPath(V4[0]!);
    await writeFile(file, "\u0000\u0001garbage");
    const del = cniError(await box.del("a"));
    expect(del.code).toBe(5);
    expect(del.msg).toContain(file);
    const gc = cniError(await box.gc([]));
    expect(gc.code).toBe(5);
    expect(gc.msg).toContain(file);
    expect(await readFile(file, "utf8")).toBe("\u0000\u0001garbage");
    await fillAndCheck([V4[0]!]);
  });

  it("an empty record, a record copied under another container's name, a record with a non-canonical address: code 5", async () => {
    await threePods();
    await writeFile(recordPath("a"), "");
    expect(cniError(await box.add("a")).msg).toMatch(/damaged \(empty\)/);
    // c's record copied over b's: b's ADD would otherwise answer c's addresses.
    await writeFile(recordPath("b"), await readFile(recordPath("c"), "utf8"));
    const err = cniError(await box.add("b"));
    expect(err.code).toBe(5);
    expect(err.msg).toContain("not the attachment its path names");
    const c = JSON.parse(await readFile(recordPath("c"), "utf8")) as { ips: { address: string }[] };
    c.ips[0]!.address = "172.31.028.18";
    await writeFile(recordPath("c"), JSON.stringify(c));
    expect(cniError(await box.del("c")).msg).toContain("not a canonical IPv4 address");
  });
});

describe("store check", () => {
  it("reports nothing on a healthy store (exit 0) and notes a missing one", async () => {
    await threePods();
    expect(await check()).toMatchObject({ code: 0, problems: [] });
    const none = await box.cli(["store", "check", "--data-dir", join(box.root, "nowhere")]);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain("no store");
  });

  it("lists every kind of problem with its file, and exits 1", async () => {
    await threePods();
    await writeFile(recordPath("a"), "{trunc"); // damaged record
    await writeFile(claimPath(V6[1]!), ""); // damaged claim (b's)
    await rm(recordPath("c")); // c's claims now have no record
    await rm(join(box.dataDir, "attachments", "c"), { recursive: true });
    expect(addressesOf(cniOk(await box.add("d")))[0]).toBe("172.31.28.19");
    await rm(claimPath("172.31.28.19")); // d's record lists an address it does not hold
    await writeFile(join(box.dataDir, "ips", ".tmp-172.31.28.30-99-1"), "{}"); // a killed writer's temp file
    await mkdir(join(box.dataDir, "attachments", "empty"), { mode: 0o700 });
    await chmod(claimPath(V4[2]!), 0o644);
    const { code, problems } = await check();
    expect(code).toBe(1);
    const kinds = problems.map((p) => `${p.kind} ${p.path}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        "damaged-record attachments/a/eth0",
        `damaged-claim ips/${V6[1]}`,
        `claim-without-record ips/${V4[2]}`,
        `claim-without-record ips/${V6[2]}`,
        "stray-temp-file ips/.tmp-172.31.28.30-99-1",
        "empty-directory attachments/empty",
        `permissions ips/${V4[2]}`,
        "address-not-held attachments/d/eth0",
      ]),
    );
    const text = await box.cli(["store", "check", ...box.dirArgs()]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain("attachments/a/eth0");
    expect(text.stdout).toContain("store repair --dry-run");
  });
});

describe("store repair", () => {
  it("--dry-run prints the plan and changes nothing", async () => {
    await threePods();
    await writeFile(claimPath(V4[0]!), "{");
    await writeFile(recordPath("b"), "");
    const before = snapshot(box.dataDir);
    const out = await repair("--dry-run");
    expect(out).toContain("plan: ");
    expect(out).toContain("nothing changed");
    expect(diffSnapshots(before, snapshot(box.dataDir))).toEqual([]);
  });

  it("a damaged claim listed by exactly one record is rewritten for it; the damaged file is kept under damaged/", async () => {
    const live = await threePods();
    await writeFile(claimPath(V4[0]!), '{"containerID":"a","ifn');
    const out = await repair();
    expect(out).toContain(`rewrite the claim ips/${V4[0]} (not valid JSON) for a/eth0`);
    expect(await check()).toMatchObject({ code: 0, problems: [] });
    expect(verifyStore(box.dataDir, { live, strict: true })).toEqual([]);
    const aside = join(box.dataDir, "damaged", (await readdir(join(box.dataDir, "damaged")))[0]!, "ips", V4[0]!);
    expect(await readFile(aside, "utf8")).toBe('{"containerID":"a","ifn');
    // a's DEL now releases it as usual.
    cniOk(await box.del("a"));
    expect(await box.claims()).not.toContain(V4[0]);
  });

  it("a damaged record is rebuilt from the claims naming it, so DEL releases them", async () => {
    const live = await threePods();
    await writeFile(recordPath("b"), "garbage");
    const out = await repair();
    expect(out).toContain(`rebuild attachments/b/eth0 (not valid JSON) from the claims naming it: ${V4[1]}, ${V6[1]}`);
    expect(verifyStore(box.dataDir, { live, strict: true })).toEqual([]);
    expect(addressesOf(cniOk(await box.add("b")))).toEqual([V4[1], V6[1]]); // a retried ADD answers the same
    cniOk(await box.del("b"));
    expect(await box.claims()).toEqual([V4[0], V4[2], V6[0], V6[2]].sort());
  });

  it("claims whose record is gone get the record back, and GC releases them the normal way", async () => {
    const live = await threePods();
    await rm(join(box.dataDir, "attachments", "c"), { recursive: true });
    const out = await repair();
    expect(out).toContain("rebuild the missing record attachments/c/eth0 from its claims");
    expect(verifyStore(box.dataDir, { live, strict: true })).toEqual([]);
    live.delete("c/eth0");
    cniOk(await box.gc([...live.keys()].map((k) => ({ containerID: k.split("/")[0]!, ifname: "eth0" }))));
    expect(verifyStore(box.dataDir, { live, strict: true, only: new Set(live.keys()) })).toEqual([]);
  });

  it("a damaged claim whose owner cannot be told stays in use under repair-held-*, until released by hand", async () => {
    await threePods();
    // b's record and b's IPv4 claim both damaged: nothing says who holds .17 now.
    await writeFile(recordPath("b"), "");
    await writeFile(claimPath(V4[1]!), "");
    const out = await repair();
    expect(out).toMatch(new RegExp(`keep ${V4[1]!.replace(/\./g, "\\.")} in use under repair-held-[0-9TZ-]+/held`));
    expect(out).toContain("rebuild attachments/b/eth0 (empty) from the claims naming it: " + V6[1]);
    const after = await check();
    expect(after.problems).toEqual([]);
    expect(after.notices.join("\n")).toMatch(/held by repair-held-.*release --container-id repair-held-/);
    await fillAndCheck([V4[0]!, V4[1]!, V4[2]!]); // .17 is never handed out again
    const heldId = /release --container-id (repair-held-[0-9TZ-]+)/.exec(out)![1]!;
    const rel = await box.cli(["release", "--container-id", heldId, ...box.dirArgs()]);
    expect(rel.code, describeRun(rel)).toBe(0);
    expect(await box.claims()).not.toContain(V4[1]);
  });

  it("removes stray temp files, empty directories and records that hold none of their addresses", async () => {
    const live = await threePods();
    await writeFile(join(box.dataDir, "ips", ".tmp-172.31.28.20-123-1"), "");
    await writeFile(join(box.dataDir, "hints", ".tmp-master-v4-123-2"), "");
    await mkdir(join(box.dataDir, "attachments", "ghost"), { mode: 0o700 });
    // A killed ADD: a record whose claims were never written.
    await mkdir(join(box.dataDir, "attachments", "half"), { mode: 0o700 });
    await writeFile(
      recordPath("half"),
      JSON.stringify({ containerID: "half", ifname: "eth0", network: "ipvlan-ens5", pod: {}, ips: [{ pool: "master-v4", address: "172.31.28.25", family: 4 }], created: "x" }),
    );
    const out = await repair();
    expect(out).toContain("remove stray temp file ips/.tmp-172.31.28.20-123-1");
    expect(out).toContain("remove empty directory attachments/ghost");
    expect(out).toContain("set aside attachments/half/eth0");
    expect(await check()).toMatchObject({ code: 0, problems: [] });
    expect(verifyStore(box.dataDir, { live, strict: true, only: new Set(live.keys()) })).toEqual([]);
  });

  it("leaves a record holding only some of its addresses for DEL (a killed ADD of a dual-stack pod)", async () => {
    const live = await threePods();
    await rm(claimPath(V6[2]!));
    const out = await repair();
    expect(out).toContain("left: attachments/c/eth0 holds");
    expect(await box.claims()).toContain(V4[2]);
    live.delete("c/eth0");
    cniOk(await box.del("c"));
    expect(verifyStore(box.dataDir, { live, strict: true, only: new Set(live.keys()) })).toEqual([]);
  });

  it("refuses a dataDir others can write to", async () => {
    await threePods();
    await chmod(box.dataDir, 0o777);
    const out = await box.cli(["store", "repair", ...box.dirArgs()]);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toMatch(/writable by group or others/);
  });

  it("without a subcommand it says what is expected", async () => {
    const out = await box.cli(["store", ...box.dirArgs()]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("check or repair");
    expect(existsSync(join(box.dataDir, "damaged"))).toBe(false);
  });

  // The property behind every rule: repair never frees an address. Random
  // damage, then repair; every address claimed before is claimed after, the
  // store checks clean, and everything is still releasable the normal way.
  it("never frees a claimed address, whatever the damage (12 seeded damage patterns)", async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const r = rng(seed);
      const ids = ["a", "b", "c", "d", "e"];
      for (const id of ids) cniOk(await box.add(id));
      for (let k = 0; k < 1 + r.int(3); k++) {
        const id = r.pick(ids);
        const record = recordPath(id);
        const claims = (await box.claims()).filter(() => true);
        const claim = claimPath(r.pick(claims));
        const damage = r.pick([
          async () => writeFile(record, (await readFile(record, "utf8").catch(() => "")).slice(0, r.int(60))),
          async () => writeFile(claim, (await readFile(claim, "utf8").catch(() => "")).slice(0, r.int(60))),
          async () => writeFile(record, Buffer.from(Array.from({ length: 1 + r.int(80) }, () => r.int(256)))),
          async () => writeFile(claim, Buffer.from(Array.from({ length: 1 + r.int(80) }, () => r.int(256)))),
          async () => rm(join(box.dataDir, "attachments", id), { recursive: true, force: true }),
          async () => writeFile(join(box.dataDir, "ips", `.tmp-${r.int(1000)}`), ""),
          async () => {
            const other = r.pick(ids);
            if (other !== id && existsSync(recordPath(other))) await writeFile(record, await readFile(recordPath(other)));
          },
          async () => {
            await rm(claim, { force: true, recursive: true });
            await mkdir(claim, { mode: 0o700 });
          },
          async () => writeFile(join(box.dataDir, "ips", "172.31.028.1"), "{}"),
        ]);
        await damage();
      }
      const claimedBefore = (await readdir(join(box.dataDir, "ips"))).filter((n) => !n.startsWith(".") && n !== "172.31.028.1");
      await repair();
      const claimedAfter = await box.claims();
      for (const a of claimedBefore) expect(claimedAfter, `seed ${seed}: repair freed ${a}`).toContain(a);
      const { problems, notices } = await check();
      expect(problems.filter((p) => p.kind !== "address-not-held"), `seed ${seed}`).toEqual([]);
      // Everything is releasable: the runtime's DELs, a GC, and the held records by hand.
      for (const id of ids) cniOk(await box.del(id));
      cniOk(await box.gc([]));
      for (const n of notices) {
        const held = /release --container-id (repair-held-[0-9TZ-]+)/.exec(n);
        if (held) expect((await box.cli(["release", "--container-id", held[1]!, ...box.dirArgs()])).code).toBe(0);
      }
      const s = readStore(box.dataDir);
      expect([...s.claims.keys()], `seed ${seed}: claims left`).toEqual([]);
      expect([...s.records.keys()], `seed ${seed}: records left`).toEqual([]);
      await rm(join(box.dataDir, "damaged"), { recursive: true, force: true });
    }
  }, 60_000);
});
