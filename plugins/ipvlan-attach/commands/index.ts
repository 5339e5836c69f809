// The CNI commands as one module, loaded as one chunk (see
// plugins/spiderpool-ipam/commands/index.ts).
export { ipvlanAdd } from "./add";
export { ipvlanDel } from "./del";
export { ipvlanCheck } from "./check";
export { ipvlanGc, ipvlanStatus } from "./status";
