// The options of `spiderpool-cni install` (README "Installing on a node").
import { resolve } from "node:path";

export interface InstallOptions {
  dest: string;
  poolDir: string;
  dataDir: string;
  /** Also "spiderpool", upstream's IPAM type name. */
  alias: boolean;
  links: "symbolic" | "hard";
  /** A directory of pool files to copy into poolDir (a ConfigMap's mount). */
  poolsFrom?: string;
  uninstall: boolean;
  purge: boolean;
  dryRun: boolean;
  /** Keep running once installed (a DaemonSet's container), until SIGTERM. */
  stay: boolean;
}

export const INSTALL_USAGE = `usage: spiderpool-cni install [--dest DIR] [--alias] [--links symbolic|hard] [--pool-dir DIR]
                              [--pools-from DIR] [--stay] [--dry-run]
       spiderpool-cni install --uninstall [--purge] [--dest DIR] [--pool-dir DIR] [--data-dir DIR] [--dry-run]

  Installs this executable as DIR/spiderpool-cni and the plugins spiderpool-ipam and
  ipvlan-attach as links to it; running it again changes nothing that is in place.

  --dest DIR        where the CNI runtime looks for plugins (default /opt/cni/bin)
  --alias           also install "spiderpool" (upstream's IPAM type name) as a link
  --links KIND      symbolic (default) or hard links
  --pool-dir DIR    the SpiderIPPool directory to create (default /etc/cni/spiderpool/ippools)
  --pools-from DIR  validate the pool files in DIR (*.yaml, *.yml, *.json) and copy them
                    into the pool directory (a ConfigMap mounted in a DaemonSet)
  --data-dir DIR    the allocation store, only touched by --purge (default /var/lib/cni/spiderpool)
  --stay            once installed, keep running until SIGTERM (a DaemonSet's container)
  --uninstall       remove the executable, its links and the alias; pool files and the store stay
  --purge           with --uninstall: also remove the pool directory and the store
  --dry-run         say what would be done, change nothing
`;

export type Parsed = { ok: true; options: InstallOptions } | { ok: false; exitCode: number; message: string };

const VALUED = new Set(["--dest", "--pool-dir", "--data-dir", "--links", "--pools-from"]);

export function parseInstallArgs(argv: string[]): Parsed {
  const o: InstallOptions = {
    dest: "/opt/cni/bin",
    poolDir: "/etc/cni/spiderpool/ippools",
    dataDir: "/var/lib/cni/spiderpool",
    alias: false,
    links: "symbolic",
    uninstall: false,
    purge: false,
    dryRun: false,
    stay: false,
  };
  const bad = (message: string, exitCode = 2): Parsed => ({ ok: false, exitCode, message });
  for (let i = 0; i < argv.length; i++) {
    let opt = argv[i]!;
    let value: string | undefined;
    const eq = opt.indexOf("=");
    if (opt.startsWith("--") && eq > 0) [opt, value] = [opt.slice(0, eq), opt.slice(eq + 1)];
    if (VALUED.has(opt)) {
      value ??= argv[++i];
      if (value === undefined || value === "") return bad(`${opt} needs a value`, 1);
      if (opt !== "--links") value = resolve(value);
      if (opt === "--dest") o.dest = value;
      else if (opt === "--pool-dir") o.poolDir = value;
      else if (opt === "--data-dir") o.dataDir = value;
      else if (opt === "--pools-from") o.poolsFrom = value;
      else if (value === "symbolic" || value === "hard") o.links = value;
      else return bad(`--links is symbolic or hard, not ${JSON.stringify(value)}`, 1);
      continue;
    }
    if (value !== undefined) return bad(`${opt} takes no value`);
    switch (opt) {
      case "--alias": o.alias = true; break;
      case "--uninstall": o.uninstall = true; break;
      case "--purge": o.purge = true; break;
      case "--dry-run": o.dryRun = true; break;
      case "--stay": o.stay = true; break;
      default: return bad(`unknown option ${JSON.stringify(opt)}`);
    }
  }
  if (o.purge && !o.uninstall) return bad("--purge goes with --uninstall", 1);
  if (o.uninstall && (o.poolsFrom !== undefined || o.stay)) return bad("--pools-from and --stay go with installing, not --uninstall", 1);
  return { ok: true, options: o };
}
