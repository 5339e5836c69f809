// A node's SpiderIPPools from what the AWS instance metadata service says of
// its network interfaces (lib/cloud/aws-imds.ts reads it). Pure: ENI data in,
// pool documents and their YAML (each value commented with the metadata path
// it came from) out.
//
// The rules, for one ENI and one family:
// - ips: the ENI's delegated prefixes (ipv4-prefix, ipv6-prefix), and for
//   IPv4 its secondary addresses: local-ipv4s minus its first entry, which is
//   the ENI's primary address (AWS lists the primary first; the node itself
//   uses it). IPv6 addresses of the ENI (ipv6s) are left out: the node
//   configures them on its own interface, and which of them it uses is not
//   said; prefixes are what AWS delegates for pods.
// - subnet: subnet-ipv4-cidr-block, or the one of subnet-ipv6-cidr-blocks
//   holding the prefixes.
// - gateway: the VPC router, the subnet's first address plus one (AWS
//   reserves it in every subnet, both families). For IPv6 the router also
//   answers at a link-local address, but a pool's gateway must be inside its
//   subnet (pool.ts), and the subnet's ::1 is what the seed's pools use.
// - name: "<node>-v4"/"<node>-v6" for the primary ENI (device-number 0, the
//   names the seed's hand-written pools have), "<node>-eni<N>-v4" for the ENI
//   at device-number N: stable while the ENI stays attached at that index.
// - default: true for the primary ENI's pools only; nodeName: [node].
// A family with no address on an ENI gets no pool (and a note saying so).
import { type Cidr, type Family, cidrContains, cidrLast, formatCidr, formatIP, parseCidr, parseIP } from "../ip/address";
import { isDnsSubdomainName } from "../text";
import { type EniMetadata, macPath } from "../cloud/aws-imds";
import { POOL_API_VERSION, POOL_KIND } from "./pool-schema";

export interface DiscoverOptions {
  node: string;
  /** spec.multusName of every pool (none when empty). */
  multusName?: string[];
}

/** One entry of spec.ips with the metadata path (and value) it came from. */
interface IpsEntry {
  text: string;
  start: bigint;
  from: string;
}

export interface DiscoveredPool {
  name: string;
  family: Family;
  mac: string;
  deviceNumber: number;
  subnet: { text: string; from: string };
  ips: IpsEntry[];
  gateway: { text: string; from: string };
  isDefault: boolean;
  nodeName: string;
  multusName: string[];
}

export interface Discovery {
  node: string;
  pools: DiscoveredPool[];
  /** ENIs and families that got no pool, and why. */
  notes: string[];
}

/** The pool name of an ENI's family: stable while the ENI keeps its device number. */
export function discoveredPoolName(node: string, deviceNumber: number, family: Family): string {
  return deviceNumber === 0 ? `${node}-v${family}` : `${node}-eni${deviceNumber}-v${family}`;
}

const familyName = (f: Family) => `IPv${f}`;

function cidrOf(text: string, family: Family, path: string): Cidr {
  const parsed = parseCidr(text);
  if (!parsed || parsed.cidr.family !== family) throw new Error(`${path}: ${JSON.stringify(text)} is not an ${familyName(family)} CIDR`);
  if (parsed.ip.value !== parsed.cidr.base) throw new Error(`${path}: ${text} has host bits set; expected a network address`);
  return parsed.cidr;
}

/** The whole CIDR as one ips entry ("first-last"). */
function cidrRange(c: Cidr): string {
  const first = formatIP({ family: c.family, value: c.base });
  return c.prefix === (c.family === 4 ? 32 : 128) ? first : `${first}-${formatIP({ family: c.family, value: cidrLast(c) })}`;
}

function gatewayOf(subnet: Cidr): string {
  return formatIP({ family: subnet.family, value: subnet.base + 1n });
}

function checkInside(subnet: Cidr, subnetPath: string, what: string, value: Cidr | bigint, path: string): void {
  const [first, last] = typeof value === "bigint" ? [value, value] : [value.base, cidrLast(value)];
  const inside = (v: bigint) => cidrContains(subnet, { family: subnet.family, value: v });
  if (!inside(first) || !inside(last)) {
    throw new Error(`${path}: ${what} is outside the ENI's subnet ${formatCidr(subnet)} (${subnetPath}); the metadata does not add up`);
  }
}

function ipv4Pool(eni: EniMetadata, opts: DiscoverOptions, notes: string[]): DiscoveredPool | undefined {
  const prefixesPath = macPath(eni.mac, "ipv4-prefix");
  const localPath = macPath(eni.mac, "local-ipv4s");
  const subnetPath = macPath(eni.mac, "subnet-ipv4-cidr-block");
  const [primary, ...secondaries] = eni.localIpv4s;
  const label = `ENI ${eni.mac} (device-number ${eni.deviceNumber})`;
  if (eni.ipv4Prefixes.length === 0 && secondaries.length === 0) {
    notes.push(`no IPv4 pool for ${label}: no ipv4-prefix and no secondary address in local-ipv4s`);
    return undefined;
  }
  if (eni.subnetIpv4 === undefined) throw new Error(`${subnetPath}: missing, but the ENI has IPv4 prefixes or secondary addresses`);
  const subnet = cidrOf(eni.subnetIpv4, 4, subnetPath);
  const ips: IpsEntry[] = eni.ipv4Prefixes.map((text) => {
    const prefix = cidrOf(text, 4, prefixesPath);
    checkInside(subnet, subnetPath, `prefix ${text}`, prefix, prefixesPath);
    return { text: cidrRange(prefix), start: prefix.base, from: `${prefixesPath} ${text}` };
  });
  for (const text of secondaries) {
    const ip = parseIP(text);
    if (!ip || ip.family !== 4) throw new Error(`${localPath}: ${JSON.stringify(text)} is not an IPv4 address`);
    checkInside(subnet, subnetPath, `address ${text}`, ip.value, localPath);
    ips.push({ text: formatIP(ip), start: ip.value, from: `${localPath} (secondary; the first, ${primary}, is the ENI's primary address)` });
  }
  return poolOf(eni, 4, subnet, { text: formatCidr(subnet), from: subnetPath }, ips, opts);
}

function ipv6Pool(eni: EniMetadata, opts: DiscoverOptions, notes: string[]): DiscoveredPool | undefined {
  const prefixesPath = macPath(eni.mac, "ipv6-prefix");
  const subnetsPath = macPath(eni.mac, "subnet-ipv6-cidr-blocks");
  if (eni.ipv6Prefixes.length === 0) {
    notes.push(`no IPv6 pool for ENI ${eni.mac} (device-number ${eni.deviceNumber}): no ipv6-prefix`);
    return undefined;
  }
  const prefixes = eni.ipv6Prefixes.map((text) => ({ text, cidr: cidrOf(text, 6, prefixesPath) }));
  const subnets = eni.subnetIpv6.map((text) => cidrOf(text, 6, subnetsPath));
  // A subnet has one IPv6 block today; with several, the one holding the prefixes.
  const subnet = subnets.find((s) => cidrContains(s, { family: 6, value: prefixes[0]!.cidr.base }));
  if (!subnet) {
    throw new Error(`${prefixesPath}: prefix ${prefixes[0]!.text} is in none of the ENI's IPv6 subnets (${subnetsPath}: ${eni.subnetIpv6.join(", ") || "none"})`);
  }
  const ips = prefixes.map(({ text, cidr }) => {
    checkInside(subnet, subnetsPath, `prefix ${text}`, cidr, prefixesPath);
    return { text: cidrRange(cidr), start: cidr.base, from: `${prefixesPath} ${text}` };
  });
  return poolOf(eni, 6, subnet, { text: formatCidr(subnet), from: subnetsPath }, ips, opts);
}

function poolOf(eni: EniMetadata, family: Family, subnet: Cidr, subnetFrom: DiscoveredPool["subnet"], ips: IpsEntry[], opts: DiscoverOptions): DiscoveredPool {
  return {
    name: discoveredPoolName(opts.node, eni.deviceNumber, family),
    family,
    mac: eni.mac,
    deviceNumber: eni.deviceNumber,
    subnet: subnetFrom,
    // Address order, whatever order the service listed them in: the same ENI gives the same file.
    ips: [...ips].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0)),
    gateway: { text: gatewayOf(subnet), from: `the VPC router: the subnet's first address + 1 (${subnetFrom.from})` },
    isDefault: eni.deviceNumber === 0,
    nodeName: opts.node,
    multusName: opts.multusName ?? [],
  };
}

/** The pools the ENIs hold; throws an Error naming the metadata path of anything that does not add up. */
export function discoverPools(enis: EniMetadata[], opts: DiscoverOptions): Discovery {
  const probe = discoveredPoolName(opts.node, 0, 4);
  if (!isDnsSubdomainName(opts.node) || probe.length > 253) {
    throw new Error(`node name ${JSON.stringify(opts.node)} cannot name a pool (lowercase letters, digits, '-' and '.'); pass --node NAME`);
  }
  const devices = new Map<number, string>();
  for (const eni of enis) {
    const other = devices.get(eni.deviceNumber);
    if (other !== undefined) throw new Error(`ENIs ${other} and ${eni.mac} both have device-number ${eni.deviceNumber}`);
    devices.set(eni.deviceNumber, eni.mac);
  }
  const notes: string[] = [];
  const pools: DiscoveredPool[] = [];
  for (const eni of [...enis].sort((a, b) => a.deviceNumber - b.deviceNumber)) {
    for (const pool of [ipv4Pool(eni, opts, notes), ipv6Pool(eni, opts, notes)]) if (pool) pools.push(pool);
  }
  return { node: opts.node, pools, notes };
}

/** A YAML scalar: addresses, ranges and CIDRs as they are; anything else double-quoted. */
function scalar(text: string): string {
  // A plain scalar must not end in ':' (an IPv6 address ending in "::" would read as a key).
  return /^[0-9A-Za-z][0-9A-Za-z.:/-]*[0-9A-Za-z/]$/.test(text) ? text : JSON.stringify(text);
}

const flowList = (items: string[]) => `[${items.map((s) => JSON.stringify(s)).join(", ")}]`;

/** The pools as a multi-document YAML file, each value commented with where it came from. */
export function discoveryYaml(d: Discovery, url: string): string {
  const out = [
    `# SpiderIPPools of node ${d.node}, from the instance metadata service at ${url}`,
    "# (IMDSv2; paths under /latest/meta-data/), written by `spiderpool-ipam pools discover --imds`.",
    "# Run it again after changing the ENIs' prefixes or secondary addresses: this file is replaced.",
    ...d.notes.map((n) => `# ${n}`),
  ];
  for (const pool of d.pools) {
    out.push(
      "---",
      `# ${pool.name}: ${familyName(pool.family)} of ENI ${pool.mac}, device-number ${pool.deviceNumber} (${macPath(pool.mac, "device-number")})`,
      `apiVersion: ${POOL_API_VERSION}`,
      `kind: ${POOL_KIND}`,
      "metadata:",
      `  name: ${pool.name}`,
      "spec:",
      `  subnet: ${scalar(pool.subnet.text)}  # ${pool.subnet.from}`,
      "  ips:",
      ...pool.ips.map((e) => `    - ${scalar(e.text)}  # ${e.from}`),
      `  gateway: ${scalar(pool.gateway.text)}  # ${pool.gateway.from}`,
      `  default: ${pool.isDefault}  # ${pool.isDefault ? "device-number 0: the instance's primary ENI" : `device-number ${pool.deviceNumber}: not the primary ENI`}`,
      `  nodeName: ${flowList([pool.nodeName])}  # this node (--node, else NODE_NAME, KUBERNETES_NODE_NAME or the host name)`,
    );
    if (pool.multusName.length > 0) out.push(`  multusName: ${flowList(pool.multusName)}  # --multus-name`);
  }
  return out.join("\n") + "\n";
}
