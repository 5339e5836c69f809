// The CNI commands as one module, so that they load as one chunk: every
// chunk of a Bun executable costs load time (docs/performance.md), and the
// commands share most of their code anyway.
export { ipamAdd } from "./add";
export { ipamDel } from "./del";
export { ipamCheck } from "./check";
export { ipamGc } from "./gc";
export { ipamStatus } from "./status";
