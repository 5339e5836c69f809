// Types of load.mjs for the TypeScript tests.
export interface Checkpoint {
  label: string;
  live: number;
  records: number;
  claims: number;
  counts: string;
  violations: string[];
}
export interface LoadFigures {
  workers: number;
  ops: number;
  adds: number;
  dels: number;
  readds: number;
  unknownDels: number;
  lockRetries: number;
  errors: string[];
  duplicates: string[];
  mismatches: string[];
  addMs: number[];
  delMs: number[];
  peakLive: number;
  checkpoints: Checkpoint[];
  leaked: { records: number; claims: number; strays: number };
  finalCheck: unknown[];
  seconds: number;
}
export declare function runLoad(opts?: {
  workers?: number;
  ops?: number;
  seed?: number;
  checkpoints?: number;
  log?: (line: string) => void;
  timeLimitMs?: number;
}): Promise<LoadFigures>;
