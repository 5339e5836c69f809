// The CNI commands of spiderpool-ipam, handed to the shared dispatcher. They
// are loaded only when a command runs: a plugin is started once per call,
// and the pool CLI (the other use of this executable) needs none of them.
import type { PluginCommands } from "../../lib/cni/skel";
import { stayWithDelegator } from "../../lib/cni/delegator";

type Commands = typeof import("./commands");

function commandsOf(load: () => Promise<Commands>): PluginCommands {
  return {
    add: async (req) => (await load()).ipamAdd(req),
    del: async (req) => (await load()).ipamDel(req),
    check: async (req) => (await load()).ipamCheck(req),
    gc: async (req) => (await load()).ipamGc(req),
    status: async (req) => (await load()).ipamStatus(req),
  };
}

/** In a process of its own: run by ipvlan-attach, it ends with it (see lib/cni/delegator.ts). */
export const ipamCommands = commandsOf(() => {
  stayWithDelegator(process.env);
  return import("./commands");
});

/** Inside the delegating plugin's process (lib/cni/delegate.ts): nothing can outlive it. */
export const inProcessIpamCommands = commandsOf(() => import("./commands"));
