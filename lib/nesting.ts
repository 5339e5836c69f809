// A bound on how deeply decoded input (the network configuration, pool files,
// SpiderMultusConfig files) may nest. JSON.parse and Bun's YAML parser accept
// far deeper input than the recursive code after them (JSON.stringify in error
// messages and the pool cache key, schema checks, list unwrapping) survives,
// so each input is measured here, without recursion, where it enters.

/** Far beyond any real configuration or Kubernetes object (they nest about 10 deep). */
export const MAX_NESTING = 100;

/**
 * False when `json` holds too few brackets to nest more than `max` levels:
 * a few native searches spare the usual small network configuration the walk
 * of its decoded value (strings holding brackets only make this cautious).
 */
export function jsonMayNestDeeperThan(json: string, max = MAX_NESTING): boolean {
  return countUpTo(json, "{", max + 1) + countUpTo(json, "[", max + 1) > max;
}

function countUpTo(text: string, char: string, limit: number): number {
  let count = 0;
  for (let at = text.indexOf(char); at >= 0 && count < limit; at = text.indexOf(char, at + 1)) count++;
  return count;
}

/**
 * True when objects and arrays nest more than `max` levels (a scalar is level 0,
 * the outermost object level 1). A YAML alias makes one value reachable many
 * times: a value is walked again only when reached deeper than before, so an
 * alias bomb cannot make the walk exponential.
 */
export function nestsDeeperThan(value: unknown, max = MAX_NESTING): boolean {
  if (typeof value !== "object" || value === null) return false;
  const deepest = new Map<object, number>();
  const stack: object[] = [value];
  const levels: number[] = [1];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const level = levels.pop()!;
    if (level > max) return true;
    const before = deepest.get(node);
    if (before !== undefined && before >= level) continue;
    deepest.set(node, level);
    for (const key in node) {
      const child = (node as Record<string, unknown>)[key];
      if (typeof child === "object" && child !== null) {
        stack.push(child);
        levels.push(level + 1);
      }
    }
  }
  return false;
}

/**
 * Where a value nesting more than `max` levels does so, as the path of its
 * first few levels ("ipam.ippools[0][0]…"), for a message a person can act on.
 */
export function deepNestingPath(value: unknown, max = MAX_NESTING, shown = 4): string {
  let path = "";
  let node = value;
  for (let level = 1; level <= shown; level++) {
    if (typeof node !== "object" || node === null) break;
    const parent = node as Record<string, unknown>;
    const key = Object.keys(parent).find((k) => nestsDeeperThan(parent[k], max - level));
    if (key === undefined) break;
    path += Array.isArray(parent) ? `[${key}]` : path === "" ? key : `.${key}`;
    node = parent[key];
  }
  return path === "" ? "<top>" : `${path}…`;
}

/** "nests deeper than 100 levels (at ipam.ippools[0][0]…)", or undefined when it does not. */
export function nestingProblem(value: unknown, max = MAX_NESTING): string | undefined {
  if (!nestsDeeperThan(value, max)) return undefined;
  return `nests deeper than ${max} levels (at ${deepNestingPath(value, max)})`;
}
