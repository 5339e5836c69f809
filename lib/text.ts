// Named checks of the short tokens a plugin call validates (container IDs,
// network and pool names, hint ordinals, fingerprints), shared by the modules
// that read them.

/** ASCII digits, at least one. */
export const isDigits = (text: string): boolean => /^[0-9]+$/.test(text);

/** Lowercase hex of exactly this length (hashes, fingerprints). */
export const isLowerHex = (text: string, length: number): boolean => text.length === length && /^[0-9a-f]*$/.test(text);

/** The CNI spec's container IDs and network names. */
export const isNameToken = (text: string): boolean => /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(text);

/** A Kubernetes object name (DNS-1123 subdomain characters). */
export const isDnsSubdomainName = (text: string): boolean => /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(text);

/** Whether text holds '/', ':', NUL, U+0085 or white space: what no interface name may hold. */
export const hasSlashColonNulOrSpace = (text: string): boolean => /[/:\0\u0085\s]/.test(text);
