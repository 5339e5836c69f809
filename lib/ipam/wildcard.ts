// Shell-style pool name patterns: "*", "?" and "[...]" (with "!" or "^" to negate, and a-z ranges).
// Compiled to a RegExp by hand so a pool name can never inject regex syntax.

export function isWildcard(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

const escapeRegex = (s: string) => s.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");

function compile(pattern: string): RegExp {
  let re = "^";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[") {
      const close = pattern.indexOf("]", i + 2);
      if (close < 0) {
        // An unterminated class is a literal "[", as in fnmatch.
        re += "\\[";
        continue;
      }
      let body = pattern.slice(i + 1, close);
      let negate = false;
      if (body[0] === "!" || body[0] === "^") {
        negate = true;
        body = body.slice(1);
      }
      // Keep "a-z" ranges, escape everything else.
      const parts = body.split("-").map(escapeRegex);
      re += `[${negate ? "^" : ""}${parts.join("-")}]`;
      i = close;
    } else re += escapeRegex(c);
  }
  return new RegExp(`${re}$`);
}

export function wildcardMatch(pattern: string, name: string): boolean {
  if (!isWildcard(pattern)) return pattern === name;
  try {
    return compile(pattern).test(name);
  } catch {
    // A reversed class range ("[z-a]") matches nothing rather than crashing the plugin.
    return false;
  }
}
