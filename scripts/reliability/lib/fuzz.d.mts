// Types of fuzz.mjs for the TypeScript tests.
export declare const MARK: string;
export declare const KINDS: string[];
export interface FuzzFailure {
  id: number;
  kind: string;
  command: string;
  problems: string[];
  stderr?: string;
}
export interface FuzzFigures {
  seed: number;
  count: number;
  cases: number;
  failures: FuzzFailure[];
  byKind: Map<string, number>;
  byCode: Map<string, number>;
  durations: number[];
  storeChanges: number;
  escapes: number;
  seconds: number;
  delegate: boolean;
}
export declare function runFuzz(opts?: {
  seed?: number;
  count?: number;
  concurrency?: number;
  timeoutMs?: number;
  log?: (line: string) => void;
  delegate?: boolean;
}): Promise<FuzzFigures>;
