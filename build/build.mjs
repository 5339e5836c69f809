#!/usr/bin/env node
// Compiles each plugin entry into one self-contained executable with Bun
// (start-up ~2.5 ms instead of Node's ~50 ms; see README "Performance").
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { COMPILE_FLAGS } from "./flags.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bun = join(root, "node_modules", ".bin", "bun");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const outDir = join(root, "dist", "bin");
mkdirSync(outDir, { recursive: true });

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
// point besides main is the CNI commands' module (an ADD loads 11 chunks
// instead of 23 with one entry per command and CLI subcommand).
const LAZY = {
  "spiderpool-ipam": ["plugins/spiderpool-ipam/commands/index.ts"],
  "ipvlan-attach": ["plugins/ipvlan-attach/commands/index.ts"],
};
const only = process.argv.slice(2);

for (const name of PLUGINS) {
  if (only.length && !only.includes(name)) continue;
  const outfile = join(outDir, name);
  const t0 = Date.now();
  execFileSync(
    bun,
    [
      "build",
      ...COMPILE_FLAGS,
      "--splitting",
      `--define=process.env.SPIDERPOOL_TS_VERSION=${JSON.stringify(pkg.version)}`,
      join(root, "plugins", name, "main.ts"),
      ...LAZY[name].map((f) => join(root, f)),
      "--outfile",
      outfile,
    ],
    { stdio: ["ignore", "ignore", "inherit"], cwd: root },
  );
  const mb = (statSync(outfile).size / 1048576).toFixed(1);
  console.log(`built ${outfile} (${mb} MB) in ${Date.now() - t0} ms`);
}
