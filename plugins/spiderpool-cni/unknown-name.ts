// Started under a name that is none of ours (a copy renamed to
// `spiderpool-cni-amd64`, a link with a typo), or run by a runtime as
// spiderpool-cni: say which names work, as a CNI error when a runtime ran us,
// and exit non-zero. Never a crash.
import { CniError, ErrorCode } from "../../lib/cni/errors";
import { invokedAsCni } from "../../lib/cni/process";
import { formatError } from "../../lib/cni/skel";
import { LATEST_VERSION } from "../../lib/cni/version";

const HINT = "install it with `spiderpool-cni install`, or link it under one of those names";

export function refuse(msg: string): never {
  if (invokedAsCni()) process.stdout.write(formatError(new CniError(ErrorCode.InvalidConfig, msg, HINT), LATEST_VERSION));
  process.stderr.write(`spiderpool-cni: ${msg}; ${HINT}\n`);
  process.exit(2);
}

export const refuseUnknownName = (name: string, known: readonly string[]): never =>
  refuse(`this executable was started as ${JSON.stringify(name)}, which is none of its names: ${known.join(", ")}`);
