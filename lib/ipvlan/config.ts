// The network configuration of ipvlan-attach (see README "ipvlan-attach
// configuration"). Pure: validated before anything is allocated or created.
import { CniError, ErrorCode, invalidConfig } from "../cni/errors";
import { interfaceNameProblem } from "../cni/env";
import type { NetConf } from "../cni/skel";
import { parseCoordinatorConfig, type CoordinatorConfig } from "../coordinator/config";
import { checkLogKeys } from "../log/settings";

export type IpvlanMode = "l2" | "l3" | "l3s";
const MODES: readonly IpvlanMode[] = ["l2", "l3", "l3s"];

export interface DadSettings {
  /** Run IPv6 duplicate address detection and report a conflict (code 103). */
  enabled: boolean;
  /** Upper bound for waiting on DAD; the address is refused if still tentative. */
  timeoutMs: number;
}

export interface IpvlanConfig {
  /** Undefined: the interface of the host's default route. */
  master?: string;
  mode: IpvlanMode;
  /** 0: inherit the master's MTU. */
  mtu: number;
  linkInContainer: boolean;
  /** The ipam block's plugin type; undefined in chained mode (addresses from prevResult). */
  ipamType?: string;
  dad: DadSettings;
  /** 0: none; else the slaves' parent is "<master>.<vlanID>", created if missing. */
  vlanID: number;
  /** The veth side channel to the node and Services (on by default). */
  coordinator: CoordinatorConfig;
}

// Keys the runtime or Multus may put into any plugin's configuration.
const RUNTIME_KEYS = new Set(["cniVersion", "name", "type", "args", "runtimeConfig", "prevResult", "capabilities", "dns", "cni.dev/valid-attachments", "cni.dev/attachments"]);
const PLUGIN_KEYS = new Set(["master", "mode", "mtu", "linkInContainer", "ipam", "ipv6DAD", "coordinator", "vlanID", "log_level", "log_file_path", "log_file_max_size", "log_file_max_count"]);

export function unknownKeys(conf: NetConf): string[] {
  return Object.keys(conf).filter((k) => !RUNTIME_KEYS.has(k) && !PLUGIN_KEYS.has(k));
}

export function parseIpvlanConfig(conf: NetConf): IpvlanConfig {
  checkLogKeys(conf);
  const cfg: IpvlanConfig = {
    mode: "l2",
    mtu: 0,
    linkInContainer: false,
    dad: { enabled: false, timeoutMs: 2000 },
    vlanID: 0,
    coordinator: parseCoordinatorConfig(conf.coordinator),
  };
  if (conf.vlanID !== undefined && conf.vlanID !== null) {
    if (typeof conf.vlanID !== "number" || !Number.isInteger(conf.vlanID) || conf.vlanID < 0 || conf.vlanID > 4094) {
      throw invalidConfig(`"vlanID" must be an integer from 0 to 4094, got ${JSON.stringify(conf.vlanID)}`);
    }
    cfg.vlanID = conf.vlanID;
  }

  if (conf.master !== undefined && conf.master !== "") {
    if (typeof conf.master !== "string") throw invalidConfig(`"master" must be an interface name, got ${JSON.stringify(conf.master)}`);
    const problem = interfaceNameProblem(conf.master);
    if (problem) throw invalidConfig(`"master" ${JSON.stringify(conf.master)} ${problem}`);
    cfg.master = conf.master;
  }
  if (conf.mode !== undefined && conf.mode !== "") {
    const mode = typeof conf.mode === "string" ? conf.mode.toLowerCase() : conf.mode;
    if (!MODES.includes(mode as IpvlanMode)) {
      throw invalidConfig(`unknown ipvlan mode: ${JSON.stringify(conf.mode)} (expected l2, l3 or l3s)`);
    }
    cfg.mode = mode as IpvlanMode;
  }
  if (conf.mtu !== undefined && conf.mtu !== null) {
    if (typeof conf.mtu !== "number" || !Number.isInteger(conf.mtu) || conf.mtu < 0 || (conf.mtu > 0 && conf.mtu < 68) || conf.mtu > 65535) {
      throw invalidConfig(`"mtu" must be 0 (inherit the master's) or an integer from 68 to 65535, got ${JSON.stringify(conf.mtu)}`);
    }
    cfg.mtu = conf.mtu;
  }
  if (conf.linkInContainer !== undefined) {
    if (typeof conf.linkInContainer !== "boolean") throw invalidConfig(`"linkInContainer" must be true or false`);
    cfg.linkInContainer = conf.linkInContainer;
  }
  if (conf.ipam !== undefined && conf.ipam !== null) {
    const ipam = conf.ipam as { type?: unknown };
    if (typeof ipam !== "object" || Array.isArray(ipam)) throw invalidConfig(`"ipam" must be an object`);
    if (typeof ipam.type !== "string" || ipam.type === "") throw invalidConfig(`"ipam.type" must name the IPAM plugin`);
    cfg.ipamType = ipam.type;
  }
  if (conf.ipv6DAD !== undefined) {
    const d = conf.ipv6DAD as { enabled?: unknown; timeoutMs?: unknown };
    if (typeof d !== "object" || d === null || Array.isArray(d)) throw invalidConfig(`"ipv6DAD" must be an object {enabled, timeoutMs}`);
    for (const k of Object.keys(d)) {
      if (k !== "enabled" && k !== "timeoutMs") throw new CniError(ErrorCode.UnsupportedField, `unsupported field "ipv6DAD.${k}"`);
    }
    if (d.enabled !== undefined && typeof d.enabled !== "boolean") throw invalidConfig(`"ipv6DAD.enabled" must be true or false`);
    if (d.timeoutMs !== undefined && (typeof d.timeoutMs !== "number" || !Number.isInteger(d.timeoutMs) || d.timeoutMs < 0 || d.timeoutMs > 60000)) {
      throw invalidConfig(`"ipv6DAD.timeoutMs" must be an integer from 0 to 60000`);
    }
    cfg.dad = { enabled: d.enabled ?? false, timeoutMs: (d.timeoutMs as number | undefined) ?? 2000 };
  }
  const { detectIPConflict, detectGateway } = cfg.coordinator;
  // Both work by ARP and neighbour discovery from the pod's interface, which l3 and l3s slaves do not do.
  if (cfg.mode !== "l2" && (detectIPConflict || detectGateway)) {
    const keys = [detectIPConflict ? '"coordinator.detectIPConflict"' : "", detectGateway ? '"coordinator.detectGateway"' : ""].filter((k) => k !== "");
    throw invalidConfig(`${keys.join(" and ")} ${keys.length > 1 ? "need" : "needs"} ipvlan mode l2 (mode ${cfg.mode} has no ARP)`);
  }
  // IPv6's conflict detection is the kernel's duplicate address detection.
  if (detectIPConflict) cfg.dad = { ...cfg.dad, enabled: true };
  return cfg;
}
