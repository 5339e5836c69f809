// A test's prerequisite (a tool, root, a mountable tmpfs). Missing on a
// developer's machine, its tests are skipped with the reason; under CI=true
// (.ci/run installs everything with scripts/install-deps.sh) a missing one
// FAILS, so a green CI run has run every test it lists.
import { it } from "vitest";

/**
 * For `describe.skipIf(missing(...))` / `it.skipIf(missing(...))`: true (skip)
 * when `reason` says what is missing. Under CI=true it also registers a
 * failing test naming it.
 */
export function missing(reason: string | undefined): boolean {
  if (reason === undefined) return false;
  if (process.env.CI === "true") {
    it(`prerequisite: ${reason}`, () => {
      throw new Error(`missing prerequisite under CI=true: ${reason}`);
    });
  } else {
    console.warn(`skipped: ${reason}`);
  }
  return true;
}

/** The reason when `present` is false. */
export const unless = (present: boolean, reason: string): string | undefined => (present ? undefined : reason);
