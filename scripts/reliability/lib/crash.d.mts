// Types of crash.mjs for the TypeScript tests.
export declare function hasStrace(): boolean;
export interface CrashFigures {
  runs: number;
  mode: string;
  killed: number;
  finishedFirst: number;
  landings: Map<string, number>;
  follows: Map<string, number>;
  violations: string[];
  calibration: { ADD: number; DEL: number };
  final: { records: number; claims: number; strays: number };
  finalProblems: unknown[];
  gcRounds: number;
  seconds: number;
}
export declare function runCrash(opts?: {
  runs?: number;
  seed?: number;
  mode?: "random" | "even";
  log?: (line: string) => void;
  timeLimitMs?: number;
}): Promise<CrashFigures>;
export interface SyscallKillFigures {
  points: number;
  byCommand: Record<string, number>;
  landings: Map<string, number>;
  violations: string[];
  seconds: number;
}
export declare function runSyscallKills(opts?: {
  log?: (line: string) => void;
  commands?: ("ADD" | "DEL")[];
  syscalls?: string[];
  maxN?: number;
}): Promise<SyscallKillFigures>;
