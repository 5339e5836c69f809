// The seed-pools.yaml.example that install writes into the pool directory:
// the seed's pools, every line commented so that even a renamed copy loads
// nothing by accident. Header lines start with "##": `sed -n 's/^# //p'`
// gives back exactly the YAML. The YAML is built into the executable.
import seedPools from "../../test/fixtures/pools/seed-pools.yaml" with { type: "text" };

export const EXAMPLE_NAME = "seed-pools.yaml.example"; // not loaded: only *.yaml, *.yml and *.json are

const HEADER = `## The SpiderIPPools of Spiderpool's AWS guide: nodes master and worker1, NIC ens5.
## An example only: spiderpool-ipam loads *.yaml, *.yml and *.json from this
## directory, never this file. To start from it:
##   sed -n 's/^# //p' seed-pools.yaml.example > my-pools.yaml
## then put in your subnets, prefixes and node names, and check it with
##   spiderpool-ipam validate my-pools.yaml
`;

export function exampleText(): string {
  const yaml = seedPools as string;
  const lines = (yaml.endsWith("\n") ? yaml.slice(0, -1) : yaml).split("\n");
  return HEADER + lines.map((l) => `# ${l}\n`).join("");
}
