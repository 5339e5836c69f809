// `store check` and `store repair`: what an operator runs when the plugin
// reports a damaged store file (code 5), or to audit a node's store. The
// scan, the checks and the repair plan live in lib/store (scan.ts,
// problems.ts, repair.ts, repair-apply.ts); this file parses the arguments
// and prints.
import { CniError, ErrorCode } from "../../../lib/cni/errors";
import { DEFAULT_LOCK_TIMEOUT_MS } from "../../../lib/ipam/config";
import type { Pool } from "../../../lib/ipam/pool";
import { loadPools } from "../../../lib/ipam/pool-source";
import { storeLayout } from "../../../lib/store/layout";
import { conflictNotices, heldNotices, problemsOf, relativeTo } from "../../../lib/store/problems";
import { planRepair } from "../../../lib/store/repair";
import { applyRepairAction } from "../../../lib/store/repair-apply";
import { scanStore } from "../../../lib/store/scan";
import { AllocationStore, type StoreOptions } from "../../../lib/store/store";
import { exists } from "../../../lib/sys/fs";
import { lockFile } from "../../../lib/sys/flock";
import { flag, type ParsedArgs } from "./args";
import { cliDirs } from "./dirs";

function lockTimeout(args: ParsedArgs): number {
  const text = flag(args, "lock-timeout-ms");
  if (text === undefined) return DEFAULT_LOCK_TIMEOUT_MS;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new CniError(ErrorCode.InvalidConfig, `--lock-timeout-ms must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

function storeOptions(args: ParsedArgs, dataDir: string): StoreOptions {
  return { dataDir, lockTimeoutMs: lockTimeout(args), acquireLock: (path, timeoutMs) => lockFile(path, { timeoutMs }) };
}

async function checkCommand(args: ParsedArgs): Promise<number> {
  const { dataDir } = cliDirs(args);
  const json = (flag(args, "o", "output") ?? "text") === "json";
  if (!exists(dataDir)) {
    if (json) process.stdout.write(JSON.stringify({ dataDir, exists: false, problems: [], notices: [] }, null, 2) + "\n");
    else process.stdout.write(`no store at ${dataDir}: nothing to check\n`);
    return 0;
  }
  // Inspected as it is: loose permissions are problems to list, not a reason to stop.
  const scan = AllocationStore.inspect(storeOptions(args, dataDir)).withLock((tx) => scanStore(tx.layout));
  const problems = problemsOf(scan);
  const notices = [...heldNotices(scan), ...conflictNotices(scan)];
  if (scan.setAside > 0) notices.push(`${scan.setAside} file(s) set aside by earlier repairs under damaged/ (kept for inspection; the plugin never reads them)`);
  if (json) {
    process.stdout.write(JSON.stringify({ dataDir, exists: true, problems, notices }, null, 2) + "\n");
  } else {
    for (const p of problems) process.stdout.write(`${p.kind}  ${p.path}  ${p.message}\n`);
    for (const n of notices) process.stdout.write(`note: ${n}\n`);
    process.stdout.write(
      problems.length === 0
        ? `store ${dataDir}: no problems\n`
        : `store ${dataDir}: ${problems.length} problem(s); \`spiderpool-ipam store repair --dry-run\` shows what repair would do\n`,
    );
  }
  return problems.length === 0 ? 0 : 1;
}

async function repairCommand(args: ParsedArgs): Promise<number> {
  const dirs = cliDirs(args);
  const l = storeLayout(dirs.dataDir);
  const dryRun = args.flags.has("dry-run");
  if (!exists(l.root)) {
    process.stdout.write(`no store at ${l.root}: nothing to repair\n`);
    return 0;
  }
  // A store others can write to cannot be trusted enough to repair: its owner decides.
  const store = AllocationStore.open(storeOptions(args, l.root));
  let pools: Pool[] | undefined;
  try {
    pools = await loadPools(dirs.poolDir, []);
  } catch {
    pools = undefined; // only used to name the pool of a held address
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const { done, left, remaining } = store.withLock((tx) => {
    const scan = scanStore(l);
    if (scan.foreign.length > 0) {
      throw new CniError(
        ErrorCode.InvalidConfig,
        `store entries owned by another user (${scan.foreign.map((f) => relativeTo(l.root, f.file)).join(", ")}); refusing to repair: check who wrote them`,
      );
    }
    const plan = planRepair(scan, l, pools, stamp, new Date().toISOString());
    const done: string[] = [];
    for (const action of plan.actions) {
      if (!dryRun) applyRepairAction(action, tx, stamp);
      done.push(action.text);
      // Printed as it happens: a repair that fails half-way shows what it did.
      process.stdout.write(`${dryRun ? "plan" : "done"}: ${action.text}\n`);
    }
    return { done, left: plan.left, remaining: dryRun ? [] : problemsOf(scanStore(l)) };
  });
  for (const x of left) process.stdout.write(`left: ${x}\n`);
  if (dryRun) {
    process.stdout.write(`dry run: ${done.length} action(s) planned, nothing changed\n`);
    return 0;
  }
  process.stdout.write(
    done.length === 0 ? `store ${l.root}: nothing to repair\n` : `store ${l.root}: ${done.length} action(s) done; ${remaining.length} problem(s) left\n`,
  );
  for (const p of remaining) process.stdout.write(`still: ${p.kind}  ${p.path}  ${p.message}\n`);
  return 0;
}

export async function storeCommand(args: ParsedArgs): Promise<number> {
  const sub = args.positional[1];
  switch (sub) {
    case "check":
      return checkCommand(args);
    case "repair":
      return repairCommand(args);
    default:
      process.stderr.write(`store needs a subcommand: check or repair (got ${sub === undefined ? "none" : JSON.stringify(sub)}); see --help\n`);
      return 2;
  }
}
