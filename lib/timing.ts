// Phase timings of one plugin call, for finding where its time goes. Off
// unless SPIDERPOOL_TIMING=1; then one line goes to stderr at exit, each mark
// in ms since the process started (so the first shows the runtime's own
// start-up). Costs one comparison per mark when off.
const enabled = process.env.SPIDERPOOL_TIMING === "1";
const marks: string[] = [];

export function mark(phase: string): void {
  if (enabled) marks.push(`${phase}=${performance.now().toFixed(2)}`);
}

/** A count for the same line (e.g. transactions tried again), when timing is on. */
export function note(name: string, value: number): void {
  if (enabled) marks.push(`${name}=${value}`);
}

/** The line to print, or undefined when timing is off. */
export function timingLine(component: string): string | undefined {
  return enabled ? `timing ${component}: ${marks.join(" ")}\n` : undefined;
}
