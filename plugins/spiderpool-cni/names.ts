// The names the one executable answers to (plugins/spiderpool-cni/main.ts).
// A leaf module: the plugins import it to recognise their siblings.

/** The IPAM plugin's names: its own, and upstream Spiderpool's type name (`install --alias`). */
export const IPAM_NAMES = ["spiderpool-ipam", "spiderpool"] as const;
export const IPVLAN_NAME = "ipvlan-attach";
/** The executable's own name: installation, and a pointer to the others. */
export const SELF_NAME = "spiderpool-cni";
/** Installed as links to the executable (`spiderpool` only with --alias). */
export const PLUGIN_NAMES = ["spiderpool-ipam", "ipvlan-attach"] as const;
export const ALIAS_NAME = "spiderpool";

export const ALL_NAMES = [SELF_NAME, ...IPAM_NAMES, IPVLAN_NAME];
