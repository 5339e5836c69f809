// The pool CLI: what an operator runs on a node to see and fix IPAM state.
import { CniError, toCniError } from "../../../lib/cni/errors";
import { helpText, versionText } from "../../../lib/cni/process";
import { DEFAULT_DATA_DIR, DEFAULT_POOL_DIR } from "../../../lib/ipam/config";
import { LockTimeoutError } from "../../../lib/sys/errors";
import { PROJECT_VERSION } from "../../../lib/version";
import { parseArgs, type ParsedArgs } from "./args";

export const INFO = {
  name: "spiderpool-ipam",
  version: PROJECT_VERSION,
  about: "IPAM from SpiderIPPool pools bound to nodes, with a file-locked local store",
  usage: [
    "Commands for a person on the node:",
    "  pools [-o table|json] [--config FILE] [--pool-dir DIR] [--data-dir DIR] [--node NAME] [--all-nodes]",
    "        the pools this node sees, with allocated, quarantined (CONFLICTS) and total addresses",
    "        (cluster-wide and per node with the etcd store); SHARED marks pools several nodes may use",
    "  pools discover --imds [--url URL] [--node NAME] [-o FILE|-] [--dry-run] [--timeout-ms MS] [--multus-name NS/NAME]",
    "        this node's pools (one per ENI and family) from the AWS instance metadata service (IMDSv2);",
    "        -o FILE replaces FILE atomically, never taking out an address still allocated",
    "  validate FILE...      check SpiderIPPool files with the rules ADD uses",
    "  release --container-id ID [--ifname IF] [--config FILE] [--data-dir DIR] [--pool-dir DIR] [--node NAME]",
    "        free a container's addresses by hand",
    "  release --node NAME --config FILE",
    "        etcd store: free everything a node that is gone for good held",
    "  release --conflicts [--pool NAME] [IP...] [--config FILE] [--data-dir DIR]",
    "        end the quarantine of addresses another host answered for (all, a pool's, or those listed)",
    "  store check [-o text|json] [--data-dir DIR] [--lock-timeout-ms MS]",
    "        list every problem of the store (damaged files, claims without a record, ...); exit 1 if any",
    "  store repair [--dry-run] [--data-dir DIR] [--pool-dir DIR] [--lock-timeout-ms MS]",
    "        set damaged files aside under DIR/damaged/ and rebuild what can be derived; never frees a claim",
    "  metrics [-o FILE] [--pool-dir DIR] [--data-dir DIR] [--node NAME]",
    "        pool usage in Prometheus text format (node_exporter textfile collector);",
    "        -o writes FILE atomically (0644)",
    "  nad -f FILE [-o yaml|json|conflist]",
    "        SpiderMultusConfig YAML (- for stdin) to the Multus NetworkAttachmentDefinition;",
    "        conflist: only its network configuration, for /etc/cni/net.d",
    "--config FILE: a network configuration (.conf or .conflist) whose spiderpool-ipam block gives",
    "          poolDir, dataDir, nodeName and the store (ipam.store) for the commands above.",
    `Defaults: --pool-dir ${DEFAULT_POOL_DIR}, --data-dir ${DEFAULT_DATA_DIR},`,
    "          --node from NODE_NAME, KUBERNETES_NODE_NAME or the host name.",
  ].join("\n"),
};

export async function runCli(argv: string[]): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  const [command, ...rest] = args.positional;
  if (args.flags.has("version")) {
    process.stdout.write(versionText(INFO));
    return 0;
  }
  if (!command || args.flags.has("help") || args.flags.has("h") || command === "help") {
    process.stdout.write(helpText(INFO));
    return 0;
  }
  // `return await`, not `return`: a command's rejection must reach the catch
  // below (one clear line), not escape as an unhandled rejection dump.
  try {
    switch (command) {
      case "pools":
        if (rest[0] === "discover") return await (await import("./discover")).discoverCommand(args);
        return await (await import("./pools")).poolsCommand(args);
      case "validate":
        return await (await import("./validate")).validateCommand(rest);
      case "release":
        return await (await import("./release")).releaseCommand(args);
      case "store":
        return await (await import("./store")).storeCommand(args);
      case "metrics":
        return await (await import("./metrics")).metricsCommand(args);
      case "nad":
        return await (await import("./nad")).nadCommand(args);
      default:
        process.stderr.write(`unknown command ${JSON.stringify(command)}; see --help\n`);
        return 2;
    }
  } catch (e) {
    // A lock timeout says what holds the lock, as the plugin's code 11 does.
    const known = e instanceof CniError || e instanceof LockTimeoutError ? toCniError(e) : undefined;
    const msg = known ? `${known.message}${known.details ? ` (${known.details})` : ""}` : (e as Error).message;
    process.stderr.write(`error: ${msg}\n`);
    return 1;
  }
}
