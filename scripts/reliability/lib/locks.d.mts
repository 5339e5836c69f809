// Types of locks.mjs for the TypeScript tests.
export declare const FLOCK: string;
export declare function flockAvailable(): boolean;
export interface LockFigures {
  baseline: number;
  killedHolder: number[];
  killedPlugin: number[];
  timeouts: { lockTimeoutMs: number; median: number; max: number }[];
  defaultWait: number | undefined;
  waiters: { count: number; lockTimeoutMs: number; max: number; wall: number } | undefined;
  signals: { blocked: number[]; ignored: number[]; blockedAcquired: number[] };
  maintenance: { rounds: number; calls: Map<string, number>; prestaged: number; failedAdds: number; falseStrays: number };
  violations: string[];
  seconds: number;
}
export declare function runLocks(opts?: {
  kills?: number;
  timeouts?: number[];
  repeats?: number;
  includeDefault?: boolean;
  waiters?: number;
  realHolders?: number;
  signalRepeats?: number;
  maintenanceRounds?: number;
  log?: (line: string) => void;
}): Promise<LockFigures>;
