// Types of common.mjs for the TypeScript tests.
export declare const ROOT: string;
export declare const IPAM_BIN: string;
export declare const NETWORK: string;
export declare const POOL_SIZE: number;
export declare const DUAL_STACK_POOLS: string;
export declare function requireBuilt(): void;
export declare function rng(seed: number): { next(): number; int(n: number): number; pick<T>(list: T[]): T; chance(p: number): boolean };
export declare function inPools(address: string): boolean;

export interface StoreRecord {
  containerID: string;
  ifname: string;
  network: string;
  ips: { pool: string; address: string; family: 4 | 6 }[];
  [key: string]: unknown;
}
export interface StoreClaim {
  containerID: string;
  ifname: string;
  pool: string;
  [key: string]: unknown;
}
export interface StoreView {
  records: Map<string, StoreRecord>;
  claims: Map<string, StoreClaim>;
  damaged: string[];
  strays: string[];
  emptyDirs: string[];
}
export declare function readStore(dataDir: string): StoreView;
export declare function verifyStore(dataDir: string, opts?: { live?: Map<string, string[]>; strict?: boolean; only?: Set<string> }): string[];
export declare function snapshot(dir: string, opts?: { skip?: string[] }): Map<string, string>;
export declare function diffSnapshots(before: Map<string, string>, after: Map<string, string>): string[];
export declare function percentile(xs: number[], p: number): number;
export declare function lockWaitStarted(pid: number, withinMs?: number): Promise<void>;
