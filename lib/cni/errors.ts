// CNI error codes (spec section "Error") and this project's own codes (100+).
// Every failure a plugin reports is a CniError; the dispatcher turns it into the
// one JSON object the runtime reads on stdout. The layers below lib/cni (sys,
// netlink, net) throw their own errors; toCniError gives them their codes.
import { NetInputError } from "../net/errors";
import { NetlinkError } from "../netlink/error";
import { errnoMessage } from "../sys/errno";
import { LockTimeoutError, StrandedError } from "../sys/errors";

export const ErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidConfig: 7,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  LimitedConnectivity: 51,
  // Plugin-specific codes: each is listed in README.md ("Error codes").
  NoPoolMatches: 100,
  PoolExhausted: 101,
  RequestedIpUnavailable: 102,
  AddressConflict: 103,
  MasterNotFound: 104,
  MasterDown: 105,
  MasterUnusable: 106,
  InterfaceExists: 107,
  NetlinkFailure: 108,
  DelegateFailure: 109,
  AllocationMissing: 110,
  GatewayUnreachable: 111,
  Internal: 199,
} as const;

export class CniError extends Error {
  readonly code: number;
  readonly details: string;

  constructor(code: number, msg: string, details = "") {
    super(msg);
    this.name = "CniError";
    this.code = code;
    this.details = details;
  }
}

export const invalidConfig = (msg: string, details = "") => new CniError(ErrorCode.InvalidConfig, msg, details);
export const unsupportedField = (key: string, value: unknown, why = "") =>
  new CniError(
    ErrorCode.UnsupportedField,
    `unsupported field "${key}" = ${JSON.stringify(value)}${why ? `: ${why}` : ""}`,
  );

/**
 * The CNI error for anything a call threw, at the plugin boundary: lower
 * layers' errors get their code, a failed system call (SysError, or Node's
 * errno errors in the CLI) is an I/O failure naming its errno, anything else
 * an internal error, without leaking a stack trace into msg.
 */
export function toCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof NetlinkError) {
    const details = err.kernelMessage ? `${err.errnoName}: ${errnoMessage(err.errno)}` : err.errnoName;
    return new CniError(ErrorCode.NetlinkFailure, err.message, details);
  }
  if (err instanceof NetInputError) return new CniError(ErrorCode.InvalidConfig, err.message);
  if (err instanceof LockTimeoutError) return new CniError(ErrorCode.TryAgainLater, err.message, "another plugin invocation holds it; retry later");
  if (err instanceof StrandedError) return new CniError(ErrorCode.Internal, err.message, String((err.cause as Error)?.message ?? err.cause));
  if (err instanceof Error) {
    // SysError's and Node's errno name ("ENOENT"; "ENOTREG" for NotRegularFileError).
    const errno = (err as NodeJS.ErrnoException).code;
    if (errno && /^E[A-Z0-9]+$/.test(errno)) return new CniError(ErrorCode.IoFailure, err.message, errno);
    return new CniError(ErrorCode.Internal, `internal error: ${err.message}`);
  }
  return new CniError(ErrorCode.Internal, `internal error: ${String(err)}`);
}
