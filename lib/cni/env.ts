// Reads the CNI invocation environment and checks what each command needs
// (spec section 2). A missing or malformed variable is code 4, naming it.
import { CniError, ErrorCode } from "./errors";
import { parseCniArgs, type CniArgs } from "./args";
import { utf8Length } from "../utf8";
import { hasSlashColonNulOrSpace, isNameToken } from "../text";

export const COMMANDS = ["ADD", "DEL", "CHECK", "VERSION", "GC", "STATUS"] as const;
export type CniCommand = (typeof COMMANDS)[number];

export interface CniEnv {
  command: CniCommand;
  containerId: string;
  netns: string;
  ifname: string;
  args: CniArgs;
  rawArgs: string;
  path: string[];
}

const REQUIRED: Record<CniCommand, readonly string[]> = {
  ADD: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"],
  CHECK: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"],
  DEL: ["CNI_CONTAINERID", "CNI_IFNAME"],
  GC: ["CNI_PATH"],
  VERSION: [],
  STATUS: [],
};

// Spec: alphanumeric first, then alphanumerics, '_', '.', '-'. Enforcing it also
// keeps container IDs safe to use as file names in the store.
const MAX_CONTAINER_ID = 255;

/** A container ID the spec allows (and so one the store may use as a file name). */
export const isValidContainerId = (id: string): boolean => isNameToken(id) && id.length <= MAX_CONTAINER_ID;

/** Spec rules for interface names: 1-15 bytes, not . or .., no / : or whitespace; valid UTF-8. */
export function interfaceNameProblem(name: string): string | undefined {
  if (name.length === 0) return "is empty";
  if (utf8Length(name) > 15) return "is longer than 15 bytes";
  if (name === "." || name === "..") return "may not be . or ..";
  if (hasSlashColonNulOrSpace(name)) return "may not contain '/', ':', NUL or whitespace";
  // Also for names in a configuration, decoded the same way as the environment.
  if (name.includes(REPLACEMENT_CHARACTER)) return "is not valid UTF-8 (or holds U+FFFD, the replacement character)";
  return undefined;
}

/**
 * Bun decodes the environment as UTF-8 and puts U+FFFD, the replacement
 * character, in place of every byte sequence that is not valid UTF-8, so
 * distinct names such as $'\xff' and $'\xfe' reach the program as the same
 * string and would share one record. The bytes are gone by then, and a real
 * name holds no U+FFFD, so a name holding it is refused, whether it came
 * from invalid bytes or was written out as U+FFFD.
 */
const REPLACEMENT_CHARACTER = "\uFFFD";

/** Refuses a value that was not valid UTF-8 in the environment (code 4, naming it). */
function requireUtf8(what: string, value: string): void {
  if (value.includes(REPLACEMENT_CHARACTER)) {
    throw new CniError(ErrorCode.InvalidEnvironment, `invalid ${what}: not valid UTF-8 (or holds U+FFFD, the replacement character)`);
  }
}

/** The pod's identity in CNI_ARGS: kept in records and matched against pools' namespace and pod selectors. */
const POD_ARGS = ["K8S_POD_NAMESPACE", "K8S_POD_NAME", "K8S_POD_UID"];

/** CNI_PATH's directories, empty entries dropped. */
function splitPath(raw: string): string[] {
  const dirs: string[] = [];
  for (const dir of raw.split(":")) if (dir !== "") dirs.push(dir);
  return dirs;
}

export function readCniEnv(env: Record<string, string | undefined>): CniEnv {
  const rawCommand = env.CNI_COMMAND ?? "";
  if (rawCommand === "") throw new CniError(ErrorCode.InvalidEnvironment, "required env variables [CNI_COMMAND] missing");
  if (!(COMMANDS as readonly string[]).includes(rawCommand)) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      `unknown CNI_COMMAND ${JSON.stringify(rawCommand)}: expected one of ${COMMANDS.join(", ")}`,
    );
  }
  const command = rawCommand as CniCommand;
  const missing: string[] = [];
  for (const k of REQUIRED[command]) if (!env[k]) missing.push(k);
  if (missing.length > 0) {
    throw new CniError(ErrorCode.InvalidEnvironment, `required env variables [${missing.join(",")}] missing for ${command}`);
  }

  const containerId = env.CNI_CONTAINERID ?? "";
  requireUtf8("CNI_CONTAINERID", containerId);
  if (containerId !== "" && !isValidContainerId(containerId)) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      "invalid CNI_CONTAINERID: must start with a letter or digit, hold only letters, digits, '_', '.', '-', and be at most 255 characters",
    );
  }
  const ifname = env.CNI_IFNAME ?? "";
  requireUtf8("CNI_IFNAME", ifname);
  if (ifname !== "") {
    const problem = interfaceNameProblem(ifname);
    if (problem) throw new CniError(ErrorCode.InvalidEnvironment, `invalid CNI_IFNAME ${JSON.stringify(ifname)}: ${problem}`);
  }
  const netns = env.CNI_NETNS ?? "";
  if (netns.includes("\0")) throw new CniError(ErrorCode.InvalidEnvironment, "invalid CNI_NETNS: contains NUL");
  // A path that is not UTF-8 cannot be opened as given: it would name another file.
  requireUtf8("CNI_NETNS", netns);

  const rawArgs = env.CNI_ARGS ?? "";
  const args = parseCniArgs(rawArgs);
  for (const key of POD_ARGS) requireUtf8(`CNI_ARGS ${key}`, args.get(key) ?? "");
  return {
    command,
    containerId,
    netns,
    ifname,
    args,
    rawArgs,
    path: splitPath(env.CNI_PATH ?? ""),
  };
}
