// The store tampered with by someone else on the node: a FIFO, a character
// device (mknod) or a symbolic link in place of a store file or directory,
// and dataDir or poolDir reached through a directory another user could
// replace. Every command must end by itself (no open may block), answer
// success or one CNI error with a fitting code (5 naming the file, 7 for a
// path refused), write nothing outside dataDir, and never give an address
// twice. Each case gets a fresh sandbox with one live attachment.
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, lchownSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { addressesOf, cli, cni, describe, diffSnapshots, gc, makeSandbox, snapshot } from "./common.mjs";

const NOBODY = 65534;
const KINDS = ["fifo", "char-device", "symlink"];

/** Store entries to replace: [name, path under dataDir (given the sandbox), is a directory]. */
const TARGETS = [
  ["hint", (box) => join(box.dataDir, "hints", "rel-v4"), false],
  ["next claim", () => "ips/10.77.0.11", false],
  ["record", () => "attachments/t/eth0", false],
  ["pool cache", (box) => join("cache", readdirSync(join(box.dataDir, "cache")).find((n) => !n.startsWith("."))), false],
  ["container directory", () => "attachments/t", true],
  ["claims directory", () => "ips", true],
];

/** Ways to reach dataDir (or poolDir) through a directory another user could replace. */
const ANCESTORS = ["dataDir below a directory of another user", "dataDir through another user's link in a sticky directory", "dataDir below a group-writable directory", "poolDir below a directory of another user"];

const COMMANDS = ["ADD", "DEL", "GC", "STATUS", "store check"];

function plant(kind, path, outside) {
  rmSync(path, { recursive: true, force: true });
  if (kind === "fifo") spawnSync("mkfifo", ["-m", "600", path]);
  else if (kind === "char-device") spawnSync("mknod", ["-m", "600", path, "c", "1", "3"]); // /dev/null's numbers
  else symlinkSync(outside, path);
}

/** A path to dataDir (or poolDir) whose way passes a directory another user could replace; the real directory keeps the sandbox's contents. */
function detour(box, which) {
  const root = join(box.root, "detour");
  mkdirSync(root, { mode: 0o755 });
  chmodSync(root, 0o755);
  // The link leads to the sandbox's root: the last component is the real directory.
  const last = which.startsWith("poolDir") ? "pools" : "data";
  if (which.includes("link in a sticky")) {
    const sticky = join(root, "sticky");
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    const link = join(sticky, "theirs");
    symlinkSync(box.root, link);
    lchownSync(link, NOBODY, NOBODY);
    return join(link, last);
  }
  const dir = join(root, "other");
  mkdirSync(dir, { mode: 0o755 });
  if (which.includes("group-writable")) chmodSync(dir, 0o775);
  else chownSync(dir, NOBODY, NOBODY);
  const link = join(dir, "link");
  symlinkSync(box.root, link);
  return join(link, last);
}

function judge(what, command, out, expect, mayPass, f) {
  const bad = (why) => f.violations.push(`${what}, ${command}: ${why}`);
  if (out.signal) return bad(`${out.signal === "SIGKILL" ? "hung (killed at the timeout)" : `killed by ${out.signal}`}`);
  if (/\n\s+at \S|\$bunfs/.test(out.stdout + out.stderr)) bad(`stack trace: ${describe(out)}`);
  if (command === "store check") return; // a person's command: it reports, its exit status says whether it found problems
  if (out.code === 0) return mayPass ? "ok" : bad("succeeded through a path it must refuse");
  let code;
  try {
    code = JSON.parse(out.stdout).code;
  } catch {
    return bad(`not one CNI error: ${describe(out)}`);
  }
  if (!expect.includes(code)) bad(`code ${code} (expected ${expect.join(" or ")}): ${describe(out)}`);
  f.byCode.set(code, (f.byCode.get(code) ?? 0) + 1);
}

/** Runs every target x kind x command and every detour x command. */
export async function runTamper({ timeoutMs = 20_000, log = () => {} } = {}) {
  const f = { cases: 0, ok: 0, byCode: new Map(), hangs: 0, violations: [], seconds: 0 };
  const started = Date.now();
  const cases = [];
  for (const [name, pathOf, isDir] of TARGETS) for (const kind of KINDS) for (const command of COMMANDS) cases.push({ name, pathOf, isDir, kind, command });
  for (const which of ANCESTORS) for (const command of COMMANDS) cases.push({ which, command });
  for (const c of cases) {
    const box = makeSandbox("spiderpool-tamper-");
    try {
      const live = await cni(box, "ADD", "live");
      if (live.code !== 0) throw new Error(`set-up ADD failed: ${describe(live)}`);
      const liveAddresses = addressesOf(live.stdout);
      // The record and container directory targets need the container under test recorded.
      if (c.name === "record" || c.name === "container directory") await cni(box, "ADD", "t");
      const outside = join(box.root, "outside");
      mkdirSync(outside, { mode: 0o700 });
      writeFileSync(join(outside, "keep"), "untouched\n", { mode: 0o600 });
      let ipam = {};
      let what;
      if (c.which) {
        what = c.which;
        const path = detour(box, c.which);
        ipam = c.which.startsWith("poolDir") ? { poolDir: path } : { dataDir: path };
      } else {
        what = `${c.kind} in place of the ${c.name}`;
        const rel = c.pathOf(box);
        const path = rel.startsWith("/") ? rel : join(box.dataDir, rel);
        plant(c.kind, path, c.kind === "symlink" && !c.isDir ? join(outside, "keep") : outside);
      }
      const before = snapshot(outside);
      const opts = { ipam, timeoutMs };
      const out =
        c.command === "GC"
          ? await gc(box, [{ containerID: "live", ifname: "eth0" }, { containerID: "t", ifname: "eth0" }], opts)
          : c.command === "STATUS"
            ? await cni(box, "STATUS", undefined, { ...opts, version: "1.1.0" })
            : c.command === "store check"
              ? await cli(["store", "check", "--data-dir", ipam.dataDir ?? box.dataDir], { timeoutMs })
              : await cni(box, c.command, "t", opts);
      f.cases++;
      if (out.signal === "SIGKILL") f.hangs++;
      // A path another user could redirect is refused by every command that uses it.
      const mayPass = !c.which || (c.which.startsWith("poolDir") && !["ADD", "STATUS"].includes(c.command));
      const verdict = judge(what, c.command, out, c.which ? [7] : [5, 7], mayPass, f);
      if (verdict === "ok") {
        f.ok++;
        if (c.command === "ADD") {
          const twice = addressesOf(out.stdout).filter((a) => liveAddresses.includes(a));
          if (twice.length > 0) f.violations.push(`${what}, ADD: got ${twice.join(", ")}, which the live attachment holds`);
        }
      }
      for (const d of diffSnapshots(before, snapshot(outside))) f.violations.push(`${what}, ${c.command}: outside dataDir, ${d}`);
    } finally {
      box.cleanup();
    }
  }
  log(`  ${f.cases} cases, ${f.violations.length} violation(s)`);
  f.seconds = (Date.now() - started) / 1000;
  return f;
}
