// Checks of the short tokens a plugin call validates (container IDs, network
// and pool names, hint ordinals, fingerprints), as plain loops instead of
// regular expressions: a plugin process runs each check a few times and then
// exits, and a regular expression's first use (compiling it; the first one of
// a process also starts the regex engine) cost more than the check itself.
//
// Each function loops inline over the characters, with no helper called per
// character: a small function called for every character would itself be
// called often enough for the JIT to compile it, which costs a one-shot
// process more than it saves (see lib/sys/libc.ts).

/** /^\d+$/: ASCII digits, at least one. */
export function isDigits(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** /^[0-9a-f]{length}$/: lowercase hex of exactly this length (hashes, fingerprints). */
export function isLowerHex(text: string, length: number): boolean {
  if (text.length !== length) return false;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** /^[A-Za-z0-9][A-Za-z0-9_.-]*$/: the CNI spec's container IDs and network names. */
export function isNameToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (!alnum && (i === 0 || (c !== 95 && c !== 46 && c !== 45))) return false; // _ . -
  }
  return true;
}

/** /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/: a Kubernetes object name (DNS-1123 subdomain characters). */
export function isDnsSubdomainName(text: string): boolean {
  const last = text.length - 1;
  if (last < 0) return false;
  for (let i = 0; i <= last; i++) {
    const c = text.charCodeAt(i);
    const alnum = (c >= 48 && c <= 57) || (c >= 97 && c <= 122);
    if (!alnum && (i === 0 || i === last || (c !== 45 && c !== 46))) return false; // - .
  }
  return true;
}

/** Whether text holds '/', ':', NUL, U+0085 or anything /\s/ matches: what no interface name may hold. */
export function hasSlashColonNulOrSpace(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 47 || c === 58 || c === 0 || c === 0x85) return true;
    // ECMAScript white space and line terminators
    if (c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a)) return true;
    if (c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff) return true;
  }
  return false;
}
