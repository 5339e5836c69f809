// The CNI result in its newest (1.1.0) shape. Plugins build only this shape;
// lib/cni/result.ts converts it to whatever version the runtime asked for.

export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number; // 1.1.0
  sandbox?: string;
  socketPath?: string; // 1.1.0
  pciID?: string; // 1.1.0
}

export interface CniIPConfig {
  /** CIDR notation: the address with the prefix length of its subnet. */
  address: string;
  gateway?: string;
  /** Index into interfaces[]; absent in IPAM results. */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
  mtu?: number; // 1.1.0
  advmss?: number; // 1.1.0
  priority?: number; // 1.1.0
  table?: number; // 1.1.0
  scope?: number; // 1.1.0
}

export interface CniDNS {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIPConfig[];
  routes?: CniRoute[];
  dns?: CniDNS;
}
