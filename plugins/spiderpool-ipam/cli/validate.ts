// `validate FILE...`: the same parsing and rules as ADD, over the given files
// together (so overlaps between them are found too). Pools that several nodes
// may use are marked: the local store refuses them.
import { readPoolFile, validatePools } from "../../../lib/ipam/pool-source";
import { sharingReason } from "../../../lib/ipam/shared";

export async function validateCommand(files: string[]): Promise<number> {
  if (files.length === 0) {
    process.stderr.write("validate needs at least one pool file\n");
    return 2;
  }
  const pools = await validatePools(files.flatMap(readPoolFile));
  for (const p of pools) {
    const shared = sharingReason(p);
    const note = shared ? `  shared: ${shared}; needs the etcd store (or ipam.store.sharedPools "allow" on a one-node cluster)` : "";
    process.stdout.write(`ok  ${p.name}  IPv${p.family}  ${p.total} addresses  (${p.source})${note}\n`);
  }
  process.stdout.write(`${pools.length} pool(s) valid\n`);
  return 0;
}
