// spiderpool-ipam: run by a CNI runtime (CNI_COMMAND set) it is an IPAM
// plugin; run by a person it is the pool CLI (loaded only then).
import { invokedAsCni, runCni } from "../../lib/cni/process";
import { ipamCommands } from "./cni";
import { logInvocation } from "../../lib/log/invocation";
import { mark } from "../../lib/timing";

mark("main");
async function main(): Promise<void> {
  if (invokedAsCni()) await runCni(ipamCommands, (o, ms) => logInvocation("spiderpool-ipam", o.conf?.ipam, o, ms));
  const { runCli } = await import("./cli/main");
  process.exit(await runCli(process.argv.slice(2)));
}

void main();
