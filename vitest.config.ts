import { defineConfig } from "vitest/config";

// Unit tests (pure logic) and integration tests (built executables, real
// namespaces) run on the host. Tests under test/vm need a kernel with ipvlan and
// are run by scripts/vm inside a QEMU guest when the host kernel lacks it.
export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
