// Who holds the addresses a pool discovery would take out of every pool, as
// the local store's claim files say (the etcd store answers with its claim
// keys: EtcdStore.claimsIn). Reads only; `pools discover` calls it holding the
// store's lock.
import { joinPath as join } from "../sys/path";
import { O_NOFOLLOW, readTextIfExists } from "../sys/fs";
import { parseIP } from "../ip/address";
import { rangeListContains } from "../ip/range";
import { holderText, type HeldAddress, type Removal } from "../ipam/discover-diff";
import { storeLayout } from "./layout";
import { parseClaim } from "./records";
import { claimedAddresses } from "./usage";

/** Claims under dataDir inside the removals, each with its holder (a damaged claim still holds its address). */
export function localHeldIn(dataDir: string, removals: Removal[]): HeldAddress[] {
  const ranges = removals.flatMap((r) => r.ranges);
  const dir = storeLayout(dataDir).claims;
  const out: HeldAddress[] = [];
  for (const address of claimedAddresses(dataDir)) {
    const ip = parseIP(address);
    if (!ip || !rangeListContains(ranges, ip)) continue;
    const file = join(dir, address);
    let holder: string;
    try {
      const text = readTextIfExists(file, O_NOFOLLOW);
      if (text === undefined) continue; // released meanwhile
      holder = holderText(parseClaim(text, file));
    } catch (e) {
      holder = `an unknown holder (claim file ${file} cannot be read: ${(e as Error).message.split(";")[0]})`;
    }
    out.push({ address, holder });
  }
  return out;
}
