// Path helpers for the absolute, already-validated paths the plugins build.
// Pure (no I/O): node:path costs a Bun executable ~0.7 ms to load per start.
// Plain loops, no regular expressions: a plugin runs each of these once per
// process, where a regex's first use (compiling it) is the dominant cost.

const SLASH = 47;

function withoutTrailingSlashes(path: string): string {
  let end = path.length;
  while (end > 1 && path.charCodeAt(end - 1) === SLASH) end--;
  return end === path.length ? path : path.slice(0, end);
}

/** Joins with single slashes; no normalisation beyond that. */
export function joinPath(...parts: string[]): string {
  let out = parts[0] ?? "";
  for (let i = 1; i < parts.length; i++) {
    let part = parts[i]!;
    if (part === "") continue;
    let start = 0;
    while (start < part.length && part.charCodeAt(start) === SLASH) start++;
    if (start > 0) part = part.slice(start);
    out = out.length > 0 && out.charCodeAt(out.length - 1) === SLASH ? out + part : `${out}/${part}`;
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
