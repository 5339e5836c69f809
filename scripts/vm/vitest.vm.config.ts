import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Tests that need a kernel with ipvlan (test/vm). Run them where the kernel has it:
//   bash scripts/vm/host-has-ipvlan.sh && npx vitest run --config scripts/vm/vitest.vm.config.ts
// or, on a kernel without it (this project's CI), inside the QEMU guest:
//   bash scripts/vm/run.sh -- npx vitest run --config scripts/vm/vitest.vm.config.ts
export default defineConfig({
  test: {
    // The project root, whichever directory vitest is started from.
    root: fileURLToPath(new URL("../..", import.meta.url)),
    include: ["test/vm/**/*.test.ts"],
    // Every process start costs ~0.15 s and more under TCG emulation.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Tests change the guest's network namespaces: one file at a time.
    fileParallelism: false,
  },
});
