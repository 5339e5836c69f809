// Path helpers for the absolute, already-validated paths the plugins build.
// Pure (no I/O), and without node:path (kept off the call path:
// docs/performance.md).

/** "/a/b//" -> "/a/b"; "/" stays "/". */
const withoutTrailingSlashes = (path: string): string => path.replace(/(.)\/+$/, "$1");

/** Joins with single slashes; no normalisation beyond that. */
export function joinPath(...parts: string[]): string {
  let out = parts[0] ?? "";
  for (const part of parts.slice(1)) {
    if (part !== "") out = `${out.replace(/\/$/, "")}/${part.replace(/^\/+/, "")}`;
  }
  return out;
}

export function dirName(path: string): string {
  const trimmed = withoutTrailingSlashes(path);
  const i = trimmed.lastIndexOf("/");
  if (i < 0) return ".";
  if (i === 0) return "/";
  return trimmed.slice(0, i);
}

export function baseName(path: string): string {
  const trimmed = withoutTrailingSlashes(path);
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}
