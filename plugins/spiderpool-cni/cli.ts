// What `spiderpool-cni` does under its own name: install the plugins, say
// which names it answers to. It is not a CNI plugin itself.
import { PROJECT_VERSION } from "../../lib/version";
import { invokedAsCni } from "../../lib/cni/process";
import { ALL_NAMES, IPAM_NAMES, IPVLAN_NAME, SELF_NAME } from "./names";

const HELP = `${SELF_NAME} ${PROJECT_VERSION}: the spiderpool-ts CNI plugins in one executable

It answers to the name it is started as (a link to it, or a copy):
  ${IPAM_NAMES.join(", ")}   the IPAM plugin and pool CLI (${IPAM_NAMES[0]} --help)
  ${IPVLAN_NAME}                 the ipvlan main plugin
  ${SELF_NAME}                this text and:

  ${SELF_NAME} install [...]      install itself and the plugins' links on a node (install --help)
  ${SELF_NAME} --version
`;

export async function main(): Promise<void> {
  if (invokedAsCni()) {
    const { refuse } = await import("./unknown-name");
    refuse(`${SELF_NAME} is not a CNI plugin itself; its plugins are ${ALL_NAMES.filter((n) => n !== SELF_NAME).join(", ")}`);
  }
  const [command, ...rest] = process.argv.slice(2);
  if (command === "install") {
    const { runInstall } = await import("./install");
    process.exit(await runInstall(rest));
  }
  if (command === "--version") {
    process.stdout.write(`${SELF_NAME} ${PROJECT_VERSION}\n`);
    process.exit(0);
  }
  process.stdout.write(HELP);
  process.exit(command === undefined || command === "--help" || command === "-h" ? 0 : 2);
}
