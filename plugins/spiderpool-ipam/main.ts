// spiderpool-ipam: run by a CNI runtime (CNI_COMMAND set) it is an IPAM
// plugin; run by a person it is the pool CLI (loaded only then). Started by
// the multi-call entry (plugins/spiderpool-cni/main.ts) under this name.
import { invokedAsCni, processIO, runCni } from "../../lib/cni/process";
import { dispatch, type Outcome } from "../../lib/cni/skel";
import type { DelegateOutput } from "../../lib/cni/delegate";
import { inProcessIpamCommands, ipamCommands } from "./cni";
import { logInvocation } from "../../lib/log/invocation";
import { mark } from "../../lib/timing";

const logIpamInvocation = (o: Outcome, ms: number) => logInvocation("spiderpool-ipam", o.conf?.ipam, o, ms);

export async function main(): Promise<void> {
  mark("main");
  if (invokedAsCni()) await runCni(ipamCommands, logIpamInvocation);
  const { runCli } = await import("./cli/main");
  process.exit(await runCli(process.argv.slice(2)));
}

/**
 * One CNI call of this plugin inside another plugin's process (ipvlan-attach
 * finding this very executable as its IPAM): what the process would print
 * on stdout and its exit code; stderr and the invocation log as it would.
 */
export async function runInProcess(stdin: string, env: Record<string, string | undefined>): Promise<DelegateOutput> {
  let stdout = "";
  const io = { ...processIO(), env, readStdin: () => stdin, stdout: (text: string) => void (stdout += text) };
  const start = performance.now();
  const outcome = await dispatch(inProcessIpamCommands, io);
  await logIpamInvocation(outcome, performance.now() - start);
  return { stdout, exitCode: outcome.exitCode };
}
