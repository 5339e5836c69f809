// CNI error codes (spec section "Error") and this project's own codes (100+).
// Every failure a plugin reports is a CniError; the dispatcher turns it into the
// one JSON object the runtime reads on stdout.

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
  Internal: 199,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

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
export const ioFailure = (msg: string, details = "") => new CniError(ErrorCode.IoFailure, msg, details);

/** Wraps anything thrown into a CniError without leaking a stack trace into msg. */
export function toCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof Error) {
    const errno = (err as NodeJS.ErrnoException).code;
    if (errno && /^E[A-Z]+$/.test(errno)) return new CniError(ErrorCode.IoFailure, err.message, errno);
    return new CniError(ErrorCode.Internal, `internal error: ${err.message}`);
  }
  return new CniError(ErrorCode.Internal, `internal error: ${String(err)}`);
}
