// `nad -f FILE [-o yaml|json|conflist]`: SpiderMultusConfig YAML in, the
// Multus NetworkAttachmentDefinitions it stands for out (for kubectl apply
// -f -), or just the network configuration list (for /etc/cni/net.d on a node
// without Multus, and cnitool).
import { readFileSync } from "node:fs";
import { CniError, ErrorCode, invalidConfig } from "../../../lib/cni/errors";
import { nadsToYaml } from "../../../lib/multus/nad-yaml";
import { collectDocuments, toNetworkAttachmentDefinitions } from "../../../lib/multus/spidermultus";
import { parseYamlAll } from "../../../lib/yaml";
import { flag, type ParsedArgs } from "./args";

function readInput(file: string): string {
  try {
    return readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (e) {
    throw new CniError(ErrorCode.IoFailure, `cannot read ${file}: ${(e as Error).message}`);
  }
}

export async function nadCommand(args: ParsedArgs): Promise<number> {
  const file = flag(args, "f", "filename");
  if (!file) throw invalidConfig("nad needs -f FILE: SpiderMultusConfig YAML (- reads standard input)");
  const output = flag(args, "o", "output") ?? "yaml";
  if (output !== "yaml" && output !== "json" && output !== "conflist") {
    throw invalidConfig(`unknown output format ${JSON.stringify(output)} (yaml, json or conflist)`);
  }
  const source = file === "-" ? "<stdin>" : file;
  let values: unknown[];
  try {
    values = parseYamlAll(readInput(file));
  } catch (e) {
    if (e instanceof CniError) throw e;
    throw invalidConfig(`${source}: cannot parse as YAML: ${(e as Error).message}`);
  }
  const nads = toNetworkAttachmentDefinitions(collectDocuments(values, source));
  if (nads.length === 0) throw invalidConfig(`${source}: no SpiderMultusConfig in it`);
  if (output === "yaml") {
    process.stdout.write(nadsToYaml(nads));
  } else if (output === "conflist") {
    if (nads.length > 1) throw invalidConfig(`${source}: -o conflist prints one network configuration, but the file has ${nads.length} SpiderMultusConfigs`);
    process.stdout.write(nads[0]!.spec.config + "\n");
  } else {
    // One object as itself, several as a List, as kubectl prints them.
    const json = nads.length === 1 ? nads[0] : { apiVersion: "v1", kind: "List", items: nads };
    process.stdout.write(JSON.stringify(json, null, 2) + "\n");
  }
  return 0;
}
