// The `bun build` flags of our executables (build/build.mjs), shared with the
// benchmark's start-up floor row so both measure the same kind of binary.
export const COMPILE_FLAGS = [
  "--compile",
  "--minify",
  "--bytecode",
  "--format=esm",
  // A CNI plugin runs in the runtime's working directory: it must not
  // pick up a .env or bunfig.toml from there (Bun's default for compiled
  // executables), which also spares a directory walk up to / per call.
  "--no-compile-autoload-dotenv",
  "--no-compile-autoload-bunfig",
  "--target=bun-linux-x64",
];
