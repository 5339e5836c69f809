// The install image (scripts/image.sh, `npm run image`) built and run with
// podman against a temporary "host" directory, the way deploy/daemonset.yaml
// runs it: the host's /opt/cni/bin, /etc/cni/spiderpool and
// /var/lib/cni/spiderpool mounted under /host, pools from a read-only
// "ConfigMap" directory. Podman's storage, run state and settings live in the
// test's temp dir (vfs storage, runc: crun fails on this host's hybrid
// cgroups; ulimits this root may set).
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { TempDirs } from "../helpers/tmp";
import { REPO_ROOT, SEED_POOLS_FILE, requireBuiltIpam } from "./ipam-harness";
import { missing, unless } from "../helpers/prerequisite";

const tmp = new TempDirs();
const hasPodman = spawnSync("podman", ["--version"]).status === 0;
if (!hasPodman && process.env.CI === "true") throw new Error("podman is missing (CI=true): scripts/install-deps.sh installs it");
const TAG = `localhost/spiderpool-cni-test:${process.pid}`;
let root: string;
let env: NodeJS.ProcessEnv;

function podman(args: string[]) {
  return spawnSync("podman", args, { env, encoding: "utf8", timeout: 120_000 });
}

beforeAll(async () => {
  if (!hasPodman) return;
  requireBuiltIpam();
  root = await tmp.make("spiderpool-image-");
  for (const d of ["storage", "run", "tmp"]) mkdirSync(join(root, d));
  writeFileSync(
    join(root, "containers.conf"),
    [
      "[containers]",
      'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
      'netns = "none"',
      "[engine]",
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${join(root, "events.log")}"`,
      `tmp_dir = "${join(root, "tmp")}"`,
      "",
    ].join("\n"),
  );
  writeFileSync(join(root, "storage.conf"), `[storage]\ndriver = "vfs"\ngraphroot = "${join(root, "storage")}"\nrunroot = "${join(root, "run")}"\n`);
  env = { PATH: process.env.PATH, HOME: root, TMPDIR: join(root, "tmp"), CONTAINERS_CONF: join(root, "containers.conf"), CONTAINERS_STORAGE_CONF: join(root, "storage.conf") };
}, 180_000);

afterAll(async () => {
  if (hasPodman && root) {
    podman(["rm", "--all", "--force"]);
    podman(["rmi", "--all", "--force"]);
  }
  await tmp.cleanup();
});

describe.skipIf(missing(unless(hasPodman, "podman (scripts/install-deps.sh installs it)")))("the install image", () => {
  let host: string;
  let config: string;
  const mounts = () => [
    "-v", `${join(host, "opt", "cni", "bin")}:/host/opt/cni/bin`,
    "-v", `${join(host, "etc", "cni", "spiderpool")}:/host/etc/cni/spiderpool`,
    "-v", `${join(host, "var", "lib", "cni", "spiderpool")}:/host/var/lib/cni/spiderpool`,
    "-v", `${config}:/config/pools:ro`,
  ];
  // --read-only: as the DaemonSet runs it (readOnlyRootFilesystem).
  const runImage = (...args: string[]) => podman(["run", "--rm", "--read-only", "--network", "none", ...mounts(), TAG, ...args]);
  const bin = (name: string) => join(host, "opt", "cni", "bin", name);
  const poolDir = () => join(host, "etc", "cni", "spiderpool", "ippools");

  it("builds FROM scratch: the executable and its C library only, entry point `spiderpool-cni install`, saved as an OCI archive", () => {
    const archive = join(root, "image.oci.tar");
    const built = spawnSync("bash", [join(REPO_ROOT, "scripts", "image.sh"), "--tag", TAG, "--archive", archive], { env, encoding: "utf8", timeout: 300_000 });
    expect(built.status, built.stderr).toBe(0);
    expect(built.stdout).toContain(`built ${TAG}`);
    expect(statSync(archive).size).toBeGreaterThan(1 << 20);
    const inspect = JSON.parse(podman(["image", "inspect", TAG]).stdout)[0] as { Config: { Entrypoint: string[] }; Size: number };
    expect(inspect.Config.Entrypoint.slice(0, 4)).toEqual(["/spiderpool-cni", "install", "--dest", "/host/opt/cni/bin"]);
    expect(inspect.Size / 1048576).toBeLessThan(120);
    // What the image holds: one layer's files, listed from the archive's own export.
    const files = spawnSync("sh", ["-c", `podman create --name ls-${process.pid} ${TAG} >/dev/null && podman export ls-${process.pid} | tar -t; podman rm ls-${process.pid} >/dev/null`], { env, encoding: "utf8" });
    const listed = files.stdout.split("\n").filter((f) => f && !f.endsWith("/"));
    expect(listed).toContain("spiderpool-cni");
    expect(listed.every((f) => f === "spiderpool-cni" || /^(lib|lib64)\/.*\.so(\.\d+)*$/.test(f) || /ld-linux/.test(f)), listed.join(" ")).toBe(true);
  }, 300_000);

  it("installs into the host's directories, pools from the ConfigMap; again changes nothing; --uninstall removes it", async () => {
    host = join(root, "host");
    config = join(root, "configmap");
    for (const d of [join(host, "opt", "cni", "bin"), join(host, "etc", "cni", "spiderpool"), join(host, "var", "lib", "cni", "spiderpool"), config]) mkdirSync(d, { recursive: true });
    writeFileSync(join(config, "seed.yaml"), readFileSync(SEED_POOLS_FILE, "utf8"), { mode: 0o644 });

    const first = runImage("--pools-from", "/config/pools", "--alias");
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain("installed /host/opt/cni/bin/spiderpool-cni (755)");
    expect(first.stdout).toContain("copied /host/etc/cni/spiderpool/ippools/seed.yaml (from /config/pools)");
    expect(readFileSync(bin("spiderpool-cni")).equals(readFileSync(join(REPO_ROOT, "dist", "bin", "spiderpool-cni")))).toBe(true);
    expect(readlinkSync(bin("ipvlan-attach"))).toBe("spiderpool-cni");
    expect(lstatSync(join(poolDir(), "seed.yaml")).mode & 0o777).toBe(0o600);
    // The host runs what was installed: the IPAM sees the ConfigMap's pools.
    const pools = spawnSync(bin("spiderpool-ipam"), ["pools", "--pool-dir", poolDir(), "--data-dir", join(root, "data"), "--all-nodes", "-o", "json"], { encoding: "utf8" });
    expect(pools.status, pools.stderr).toBe(0);
    expect(JSON.parse(pools.stdout).pools).toHaveLength(4);

    const again = runImage("--pools-from", "/config/pools", "--alias");
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain("unchanged /host/opt/cni/bin/spiderpool-cni");
    expect(again.stdout).not.toMatch(/^(installed|linked|copied|updated|relinked) /m);

    const hard = runImage("--links", "hard");
    expect(hard.status, hard.stderr).toBe(0);
    expect(statSync(bin("spiderpool-ipam")).ino).toBe(statSync(bin("spiderpool-cni")).ino);

    const gone = runImage("--uninstall");
    expect(gone.status, gone.stderr).toBe(0);
    expect(readdirSync(join(host, "opt", "cni", "bin"))).toEqual([]);
    expect(existsSync(join(poolDir(), "seed.yaml"))).toBe(true); // pool files stay without --purge
  }, 300_000);

  it("an invalid ConfigMap installs nothing and exits non-zero with the reason", () => {
    writeFileSync(join(config, "broken.yaml"), "apiVersion: spiderpool.spidernet.io/v2beta1\nkind: SpiderIPPool\nmetadata: {name: broken}\nspec: {subnet: 10.0.0.0/33}\n");
    const r = runImage("--pools-from", "/config/pools");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("the pools in /config/pools are not valid, nothing was installed");
    expect(readdirSync(join(host, "opt", "cni", "bin"))).toEqual([]);
  }, 120_000);

  it("runs as deploy/daemonset.yaml says: its args and ConfigMap install, the container stays until stopped, then exits 0", async () => {
    const docs = parseAllDocuments(readFileSync(join(REPO_ROOT, "deploy", "daemonset.yaml"), "utf8")).map((d) => d.toJSON());
    const configMap = docs.find((d) => d.kind === "ConfigMap");
    const ds = docs.find((d) => d.kind === "DaemonSet");
    const container = ds.spec.template.spec.containers[0];
    const volumes = Object.fromEntries(ds.spec.template.spec.volumes.map((v: { name: string }) => [v.name, v]));
    // The ConfigMap's keys as its volume shows them, and the host paths the volumes name, under the temp "host".
    const cm = join(root, "daemonset-configmap");
    mkdirSync(cm);
    for (const [key, text] of Object.entries(configMap.data as Record<string, string>)) writeFileSync(join(cm, key), text, { mode: 0o644 });
    const dsHost = join(root, "daemonset-host");
    const args: string[] = [];
    for (const m of container.volumeMounts as { name: string; mountPath: string; readOnly?: boolean }[]) {
      const v = volumes[m.name];
      const from = v.configMap ? cm : join(dsHost, v.hostPath.path);
      mkdirSync(from, { recursive: true });
      args.push("-v", `${from}:${m.mountPath}${m.readOnly ? ":ro" : ""}`);
    }
    const name = `ds-${process.pid}`;
    const started = podman(["run", "-d", "--name", name, "--read-only", "--network", "none", ...args, TAG, ...container.args]);
    expect(started.status, started.stderr).toBe(0);
    try {
      // Ready when it says so (its log), or failed when it exited.
      for (;;) {
        const logs = podman(["logs", name]);
        if (logs.stdout.includes("waiting for SIGTERM")) break;
        const state = JSON.parse(podman(["inspect", name]).stdout)[0].State;
        expect(state.Running, `${logs.stdout}${logs.stderr}`).toBe(true);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(readlinkSync(join(dsHost, "opt", "cni", "bin", "spiderpool"))).toBe("spiderpool-ipam");
      const pools = readdirSync(join(dsHost, "etc", "cni", "spiderpool", "ippools")).sort();
      expect(pools).toEqual([...Object.keys(configMap.data), "seed-pools.yaml.example"].sort());
      expect(podman(["stop", "--time", "10", name]).status).toBe(0);
      expect(JSON.parse(podman(["inspect", name]).stdout)[0].State.ExitCode).toBe(0);
    } finally {
      podman(["rm", "--force", name]);
    }
  }, 300_000);
});
