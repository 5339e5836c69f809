// spiderpool-cni: every plugin of this project in one executable, installed
// once and linked under each plugin's name (as Calico's one binary is both
// `calico` and `calico-ipam`). What it does depends on the name it was started
// as: basename(process.argv0), the name even through a hard or symbolic link
// (process.argv[1] is Bun's virtual path and process.execPath resolves links).
// Only the personality started is loaded.
import { baseName } from "../../lib/sys/path";
import { ALL_NAMES, IPAM_NAMES, IPVLAN_NAME, SELF_NAME } from "./names";

type Personality = () => Promise<{ main(): Promise<void> }>;

const ipam: Personality = () => import("../spiderpool-ipam/main");
const PERSONALITIES: Record<string, Personality> = {
  ...Object.fromEntries(IPAM_NAMES.map((name) => [name, ipam])),
  [IPVLAN_NAME]: () => import("../ipvlan-attach/main"),
  [SELF_NAME]: () => import("./cli"),
};

const name = baseName(process.argv0);
const personality = Object.hasOwn(PERSONALITIES, name) ? PERSONALITIES[name] : undefined;
if (personality) {
  void personality().then((p) => p.main());
} else {
  void import("./unknown-name").then((m) => m.refuseUnknownName(name, ALL_NAMES));
}
