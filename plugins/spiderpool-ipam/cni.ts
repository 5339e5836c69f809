// The CNI commands of spiderpool-ipam, handed to the shared dispatcher. Each
// command's module is loaded only when that command runs: a plugin is started
// once per call, so what it does not need must cost nothing at start-up.
import type { PluginCommands } from "../../lib/cni/skel";

export const ipamCommands: PluginCommands = {
  add: async (req) => (await import("./commands/add")).ipamAdd(req),
  del: async (req) => (await import("./commands/del")).ipamDel(req),
  check: async (req) => (await import("./commands/check")).ipamCheck(req),
  gc: async (req) => (await import("./commands/gc")).ipamGc(req),
  status: async (req) => (await import("./commands/status")).ipamStatus(req),
};
