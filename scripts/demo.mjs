#!/usr/bin/env node
// `npm run demo`: the seed's AWS scenario with the built executables. Runs
// directly when this kernel can create ipvlan links, else in a QEMU guest
// with a stock Debian kernel (scripts/vm).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bun = join(root, "node_modules", ".bin", "bun");
for (const p of ["spiderpool-ipam", "ipvlan-attach"]) {
  if (!existsSync(join(root, "dist", "bin", p))) {
    console.error(`dist/bin/${p} is missing: run npm run build first`);
    process.exit(1);
  }
}
const direct = spawnSync("bash", [join(root, "scripts", "vm", "host-has-ipvlan.sh")]).status === 0;
const cmd = [bun, join(root, "scripts", "demo-seed.ts")];
if (!direct) console.log("This kernel has no ipvlan: running the demo in a QEMU guest with a Debian kernel (first run downloads it).");
const r = direct
  ? spawnSync(cmd[0], cmd.slice(1), { stdio: "inherit", cwd: root })
  : spawnSync("bash", [join(root, "scripts", "vm", "run.sh"), "--", ...cmd], { stdio: "inherit", cwd: root });
process.exit(r.status ?? 1);
