// Address conflicts as ipvlan-attach reports them to the IPAM DEL of its
// rollback (the configuration's top-level `args.spiderpool.conflicts`), and
// how long a conflicted address stays quarantined. Pure.
import { invalidConfig } from "../cni/errors";
import type { NetConf } from "../cni/skel";
import { formatIP, parseIP } from "../ip/address";

/** One address another host answered for: `mac` is "" when unknown (IPv6 DAD does not say who). */
export interface ReportedConflict {
  /** Canonical text of the address. */
  address: string;
  mac: string;
}

/** When an ADD or GC may free a quarantined address: once `holdSeconds` have passed since it was detected. */
export interface QuarantinePolicy {
  holdSeconds: number;
  now: Date;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const WHERE = "args.spiderpool.conflicts";

/**
 * The conflicts a DEL is told of; none when the configuration names none.
 * Anything malformed is code 7 before the store is touched.
 */
export function readReportedConflicts(conf: NetConf): ReportedConflict[] {
  const args = conf.args;
  if (args === undefined || args === null) return [];
  if (typeof args !== "object" || Array.isArray(args)) return []; // not ours to judge: other plugins read args too
  const spiderpool = (args as Record<string, unknown>).spiderpool;
  if (spiderpool === undefined || spiderpool === null) return [];
  if (typeof spiderpool !== "object" || Array.isArray(spiderpool)) throw invalidConfig(`args.spiderpool must be an object, got ${JSON.stringify(spiderpool).slice(0, 100)}`);
  const list = (spiderpool as Record<string, unknown>).conflicts;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw invalidConfig(`${WHERE} must be a list of {"ip", "mac"}, got ${JSON.stringify(list).slice(0, 100)}`);
  const seen = new Set<string>();
  return list.map((entry: unknown, i) => {
    const at = `${WHERE}[${i}]`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw invalidConfig(`${at} must be an object {"ip", "mac"}`);
    const { ip, mac, ...rest } = entry as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) throw invalidConfig(`${at} has unknown key ${JSON.stringify(unknown[0]!.slice(0, 100))} (expected ip, mac)`);
    const parsed = typeof ip === "string" ? parseIP(ip) : undefined;
    if (!parsed) throw invalidConfig(`${at}.ip must be an IP address without prefix length, got ${JSON.stringify(ip)?.slice(0, 100)}`);
    if (typeof mac !== "string" || (mac !== "" && !MAC.test(mac.toLowerCase()))) {
      throw invalidConfig(`${at}.mac must be a MAC address (aa:bb:cc:dd:ee:ff) or "", got ${JSON.stringify(mac)?.slice(0, 100)}`);
    }
    const address = formatIP(parsed);
    if (seen.has(address)) throw invalidConfig(`${at}: ${address} is listed twice`);
    seen.add(address);
    return { address, mac: mac.toLowerCase() };
  });
}

/** Whether a quarantine that began at `detected` (ISO time) is over. An unreadable time is over: it cannot hold forever. */
export function quarantineOver(detected: string, policy: QuarantinePolicy): boolean {
  const since = Date.parse(detected);
  if (Number.isNaN(since)) return true;
  return policy.now.getTime() - since >= policy.holdSeconds * 1000;
}
