#!/usr/bin/env node
// Compiles the plugins into one self-contained executable with Bun (start-up
// ~2.5 ms instead of Node's ~50 ms; see README "Performance"),
// dist/bin/spiderpool-cni, and links each plugin's name to it: the executable
// does what the name it was started as says (plugins/spiderpool-cni/main.ts).
// One file instead of one per plugin: the Bun runtime inside is ~105 MB.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { COMPILE_FLAGS } from "./flags.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bun = join(root, "node_modules", ".bin", "bun");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const outDir = join(root, "dist", "bin");
mkdirSync(outDir, { recursive: true });

export const EXECUTABLE = "spiderpool-cni";
/** The plugins' names, each a symbolic link to the executable in dist/bin. */
export const PLUGINS = ["spiderpool-ipam", "ipvlan-attach"];

// Built with --splitting (ESM, so --bytecode still applies), each import()
// target and each piece of code shared between entries becomes its own chunk
// in the executable, loaded and linked only when first imported: start-up
// then pays only for what the call uses. Without --splitting, `bun build
// --compile` inlines every import() target into the main module (measured
// with Bun 1.4.5: the main module held all commands, the CLI and zod), and
// code that is merely present still costs load time (zod present but never
// run: +3.6 ms). Each chunk costs ~22K instructions to load (callgrind), and
// every extra entry point splits the shared code further, so the only entry
// points besides main are each plugin's CNI commands module (an ADD loads 11
// chunks instead of 23 with one entry per command and CLI subcommand).
const LAZY = ["plugins/spiderpool-ipam/commands/index.ts", "plugins/ipvlan-attach/commands/index.ts"];

const outfile = join(outDir, EXECUTABLE);
const t0 = Date.now();
execFileSync(
  bun,
  [
    "build",
    ...COMPILE_FLAGS,
    "--splitting",
    `--define=process.env.SPIDERPOOL_TS_VERSION=${JSON.stringify(pkg.version)}`,
    join(root, "plugins", EXECUTABLE, "main.ts"),
    ...LAZY.map((f) => join(root, f)),
    "--outfile",
    outfile,
  ],
  { stdio: ["ignore", "ignore", "inherit"], cwd: root },
);
// Each name replaced by rename, so a test running the old file never sees none.
for (const name of PLUGINS) {
  const tmp = join(outDir, `.${name}.tmp`);
  rmSync(tmp, { force: true });
  symlinkSync(EXECUTABLE, tmp);
  renameSync(tmp, join(outDir, name));
}
const mb = (statSync(outfile).size / 1048576).toFixed(1);
console.log(`built ${outfile} (${mb} MB) and ${PLUGINS.map((p) => `${p} -> ${EXECUTABLE}`).join(", ")} in ${Date.now() - t0} ms`);
