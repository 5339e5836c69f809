// Types of tamper.mjs for the TypeScript tests.
export interface TamperFigures {
  cases: number;
  ok: number;
  byCode: Map<number, number>;
  hangs: number;
  violations: string[];
  seconds: number;
}
export declare function runTamper(opts?: { timeoutMs?: number; log?: (line: string) => void }): Promise<TamperFigures>;
