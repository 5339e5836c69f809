// An address another host already uses: ADD fails with code 103, and when
// conflict detection is on, the rollback tells IPAM which addresses (and
// whose MAC) so it quarantines them instead of handing them out again.
import { CniError, ErrorCode } from "../cni/errors";

export interface AddressConflict {
  /** The address without its prefix. */
  ip: string;
  /** The MAC of the host that claims it; "" when unknown (IPv6 DAD does not say who answered). */
  mac: string;
}

export class AddressConflictError extends CniError {
  constructor(
    readonly conflicts: AddressConflict[],
    msg: string,
    details = "",
  ) {
    super(ErrorCode.AddressConflict, msg, details);
  }
}

/**
 * The network configuration with the conflicts in its top-level "args"
 * (args.spiderpool.conflicts), merged with whatever "args" it had: IPAM keeps
 * these addresses quarantined instead of releasing them.
 */
export function withConflicts(conf: Record<string, unknown>, conflicts: AddressConflict[]): Record<string, unknown> {
  const asObject = (v: unknown): Record<string, unknown> => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  const args = asObject(conf.args);
  return { ...conf, args: { ...args, spiderpool: { ...asObject(args.spiderpool), conflicts } } };
}
