// Replaced at build time (build/build.mjs --define); "dev" when run from source.
export const PROJECT_VERSION: string = process.env.SPIDERPOOL_TS_VERSION ?? "dev";
