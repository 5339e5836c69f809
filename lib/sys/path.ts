// Path helpers for the absolute, already-validated paths the plugins build.
// Pure (no I/O): node:path costs a Bun executable ~0.7 ms to load per start.

/** Joins with single slashes; no normalisation beyond that. */
export function joinPath(...parts: string[]): string {
  let out = parts[0] ?? "";
  for (const p of parts.slice(1)) {
    if (p === "") continue;
    out = out.endsWith("/") ? out + p.replace(/^\/+/, "") : `${out}/${p.replace(/^\/+/, "")}`;
  }
  return out;
}

export function dirName(path: string): string {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, "") : path;
  const i = trimmed.lastIndexOf("/");
  if (i < 0) return ".";
  if (i === 0) return "/";
  return trimmed.slice(0, i);
}

export function baseName(path: string): string {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, "") : path;
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}
