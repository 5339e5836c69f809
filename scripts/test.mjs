#!/usr/bin/env node
// `npm test`: type-check, build, the host test suites (unit + integration
// with real namespaces), then the tests that need a kernel with ipvlan —
// directly when this kernel has it, else in one QEMU guest boot. Ends with
// one summary line "tests: N passed, N failed".
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, ".cache", "test-results");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const vitest = join(root, "node_modules", ".bin", "vitest");

function run(label, cmd, args) {
  console.log(`\n### ${label}: ${[cmd, ...args].join(" ")}`);
  const r = spawnSync(cmd, args, { stdio: "inherit", cwd: root });
  return r.status ?? 1;
}

function counts(file) {
  if (!existsSync(file)) return undefined;
  const j = JSON.parse(readFileSync(file, "utf8"));
  // A suite that fails outside any test (an import or a hook) counts once.
  const failedTests = j.numFailedTests ?? 0;
  return { passed: j.numPassedTests ?? 0, failed: failedTests || (j.numFailedTestSuites ?? 0) };
}

let failedSteps = 0;
if (run("type-check", "npx", ["tsc", "--noEmit"]) !== 0) failedSteps++;
if (run("build", "node", [join(root, "build", "build.mjs")]) !== 0) {
  console.log("tests: 0 passed, 1 failed");
  process.exit(1);
}

const hostJson = join(out, "host.json");
const hostStatus = run("host tests", vitest, ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${hostJson}`]);

// The libcni interop client (Go, built offline against Debian's libcni) is built here on the
// host: building it in the guest under TCG would be slow. Without it its test skips.
if (run("libcni client build", "bash", [join(root, "test", "interop", "build-libcni-client.sh")]) !== 0) failedSteps++;

const vmJson = join(out, "vm.json");
const vmArgs = ["run", "--config", join(root, "scripts", "vm", "vitest.vm.config.ts"), "--reporter=default", "--reporter=json", `--outputFile.json=${vmJson}`];
const hasIpvlan = spawnSync("bash", [join(root, "scripts", "vm", "host-has-ipvlan.sh")]).status === 0;
const vmStatus = hasIpvlan
  ? run("ipvlan tests (host kernel)", vitest, vmArgs)
  : run("ipvlan tests (QEMU guest)", "bash", [join(root, "scripts", "vm", "run.sh"), "--", vitest, ...vmArgs]);

let passed = 0;
let failed = failedSteps;
for (const [file, status, label] of [[hostJson, hostStatus, "host"], [vmJson, vmStatus, "ipvlan"]]) {
  const c = counts(file);
  if (!c) {
    console.log(`${label} tests left no report (exit ${status})`);
    failed++;
    continue;
  }
  passed += c.passed;
  failed += c.failed;
  if (status !== 0 && c.failed === 0) failed++; // the runner itself failed
}
console.log(`\ntests: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
