// ipvlan-attach: a CNI main plugin giving a pod an ipvlan slave of the node's
// NIC. Command modules load on demand to keep start-up minimal. Started by
// the multi-call entry (plugins/spiderpool-cni/main.ts) under this name.
import { helpText, invokedAsCni, runCni, versionText } from "../../lib/cni/process";
import type { PluginCommands } from "../../lib/cni/skel";
import { PROJECT_VERSION } from "../../lib/version";
import { logInvocation } from "../../lib/log/invocation";
import { mark } from "../../lib/timing";

const INFO = {
  name: "ipvlan-attach",
  version: PROJECT_VERSION,
  about: "ipvlan underlay interfaces for pods (slaves keep the node NIC's MAC)",
  usage: "Configuration: see README.md, section \"ipvlan-attach configuration\".",
};

const load = () => import("./commands");

const commands: PluginCommands = {
  add: async (req) => (await load()).ipvlanAdd(req),
  del: async (req) => (await load()).ipvlanDel(req),
  check: async (req) => (await load()).ipvlanCheck(req),
  gc: async (req) => (await load()).ipvlanGc(req),
  status: async (req) => (await load()).ipvlanStatus(req),
};

export async function main(): Promise<void> {
  mark("main");
  if (invokedAsCni()) await runCni(commands, (o, ms) => logInvocation("ipvlan-attach", o.conf, o, ms));
  const args = process.argv.slice(2);
  process.stdout.write(args.includes("--version") ? versionText(INFO) : helpText(INFO));
  process.exit(args.length === 0 || args.includes("--help") || args.includes("-h") || args.includes("--version") ? 0 : 2);
}
