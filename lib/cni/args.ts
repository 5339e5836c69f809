// CNI_ARGS: "K1=V1;K2=V2" (spec section 2). Kubernetes runtimes put the pod's
// identity here (K8S_POD_NAMESPACE, K8S_POD_NAME, K8S_POD_UID, ...).
import { CniError, ErrorCode } from "./errors";

export type CniArgs = ReadonlyMap<string, string>;

export function parseCniArgs(raw: string | undefined): CniArgs {
  const args = new Map<string, string>();
  if (!raw) return args;
  for (const pair of raw.split(";")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    if (eq <= 0) {
      throw new CniError(ErrorCode.InvalidEnvironment, `invalid CNI_ARGS pair ${JSON.stringify(pair)}: expected KEY=VALUE`);
    }
    args.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return args;
}
