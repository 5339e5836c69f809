// `store repair`: a plan made from one scan (planRepair, pure here), then
// its actions applied one by one under the store lock (repair-apply.ts).
//
// The rule: a claim file is never removed. A claim's existence is what keeps
// an address from being given again, so
//   - a damaged claim is replaced (never removed) by a readable one, owned by
//     the one record that lists the address, or else held by a record of its
//     own, `repair-held-<time>`, that an operator releases once sure;
//   - a claim whose record is gone gets its record rebuilt from the claim, so
//     the runtime's DEL or GC releases it the normal way;
//   - a damaged record is set aside and rebuilt from the claims naming it;
//   - a quarantined address keeps its claim: a damaged conflict record is
//     rebuilt from that claim (the hold starts again at the repair).
// What is removed holds no address: stray temp files, empty directories,
// records that hold none of the addresses they list (a killed ADD or DEL), and
// conflict records whose claim is gone or another's (set aside).
// Damaged and replaced files are moved to dataDir/damaged/<time>/, not deleted.
import { isValidContainerId } from "../cni/env";
import { formatIP, parseIP, type Family, type IPAddr } from "../ip/address";
import { rangeListContains, type IPRange } from "../ip/range";
import { safeName, type StoreLayout } from "./layout";
import { HELD_PREFIX, keyOf, quarantineKeeps, relativeTo, staleConflicts, type RecordKey, type StoreScan } from "./problems";
import type { AttachmentRecord, ClaimRecord, ConflictRecord, RecordedIP } from "./records";

/** What repair needs to know of a pool: which addresses are its own. */
export interface PoolRanges {
  name: string;
  family: Family;
  usable: IPRange[];
}

/** One step of a repair, as data: `text` is what is printed. Paths are absolute. */
export type RepairAction = { text: string } & (
  | { kind: "chmod"; file: string; mode: number }
  /** Moves a file or directory under damaged/<stamp>/ (and its container directory, once empty). */
  | { kind: "set-aside"; file: string }
  /** A damaged record: a copy goes aside, then the rebuilt record replaces it. */
  | { kind: "rewrite-record"; file: string; record: AttachmentRecord }
  /** A record that is gone, rebuilt from the claims naming it. */
  | { kind: "restore-record"; record: AttachmentRecord }
  /** A damaged claim replaced by one for `owner` (a copy of a regular file goes aside first). */
  | { kind: "rewrite-claim"; address: string; owner: AttachmentRecord; pool: string; copyAside: boolean }
  /** Repair's own record holding addresses no single owner can be told for; then its claims. */
  | { kind: "hold"; record: AttachmentRecord; copyAside: string[] }
  /** A damaged conflict record: set aside, then rebuilt from the claim it keeps. */
  | { kind: "rewrite-conflict"; file: string; conflict: ConflictRecord }
  | { kind: "remove-temp"; file: string }
  | { kind: "remove-empty-dir"; dir: string }
);

export interface RepairPlan {
  actions: RepairAction[];
  /** What repair leaves for a person or for the runtime, one line each. */
  left: string[];
}

/**
 * Plans the repair of what `scan` found. `stamp` names the set-aside
 * directory and the held record; `now` is the creation time of what repair
 * makes. Pure: nothing is read or written.
 */
export function planRepair(scan: StoreScan, l: StoreLayout, pools: PoolRanges[] | undefined, stamp: string, now: string): RepairPlan {
  const actions: RepairAction[] = [];
  const left: string[] = [];
  const rel = (file: string) => relativeTo(l.root, file);
  const asideRel = (file: string) => `damaged/${stamp}/${rel(file)}`;

  // Records as they will be after the repair (rebuilt ones included).
  const records = new Map<RecordKey, AttachmentRecord>([...scan.records].map(([k, v]) => [k, v.record]));
  // Owner of each claim after the repair.
  const owners = new Map<string, RecordKey>([...scan.claims].map(([a, c]) => [a, keyOf(c.claim)]));
  const held: AttachmentRecord = { containerID: `${HELD_PREFIX}${stamp}`, ifname: "held", network: "", pod: {}, ips: [], created: now };
  const poolOf = (ip: IPAddr, named?: string): string =>
    named ?? pools?.find((p) => p.family === ip.family && rangeListContains(p.usable, ip))?.name ?? "unknown";
  const entryFor = (address: string, pool?: string): RecordedIP => {
    const ip = parseIP(address)!;
    return { pool: poolOf(ip, pool), address: formatIP(ip), family: ip.family };
  };
  const storable = (containerID: string, ifname: string) => {
    try {
      safeName(containerID, "container ID");
      safeName(ifname, "interface name");
      return isValidContainerId(containerID);
    } catch {
      return false;
    }
  };
  const setAside = (file: string, why: string) =>
    actions.push({ kind: "set-aside", file, text: `set aside ${rel(file)} -> ${asideRel(file)} (${why})` });

  // 0. Permissions first (what is moved or removed later is fixed harmlessly).
  for (const f of scan.loose) {
    actions.push({ kind: "chmod", file: f.file, mode: f.want, text: `chmod ${f.want.toString(8)} ${rel(f.file)} (was ${f.mode.toString(8)})` });
  }

  // 1. Entries the plugin never writes: out of the way first (a file where a
  //    container directory belongs would block a rebuilt record).
  for (const u of scan.unexpected) {
    if (u.unreachable || u.file === l.root || u.file === l.attachments || u.file === l.claims) left.push(`${rel(u.file)}: ${u.why}; fix by hand`);
    else setAside(u.file, u.why);
  }

  // 2. Claims grouped by their owner, for rebuilding records; quarantined ones are their conflict records'.
  const claimsBy = new Map<RecordKey, { address: string; claim: ClaimRecord }[]>();
  for (const [address, { claim }] of scan.claims) {
    if (quarantineKeeps(scan, address, claim)) continue;
    const k = keyOf(claim);
    claimsBy.set(k, [...(claimsBy.get(k) ?? []), { address, claim }]);
  }
  const rebuild = (containerID: string, ifname: string, owned: { address: string; claim: ClaimRecord }[]): AttachmentRecord => {
    const first = owned[0]!.claim;
    const r: AttachmentRecord = {
      containerID,
      ifname,
      network: first.network,
      pod: first.pod,
      ips: owned.map((o) => entryFor(o.address, o.claim.pool)),
      created: first.created,
    };
    records.set(keyOf(r), r);
    return r;
  };
  const toHold = new Map<string, string | undefined>(); // address -> pool, kept by the held record

  // 3. Damaged records: set aside; rebuilt from the claims that name them.
  for (const [k, d] of scan.damagedRecords) {
    const owned = claimsBy.get(k) ?? [];
    if (owned.length === 0) {
      setAside(d.file, `${d.why}; no claim names it, so it holds no address`);
      continue;
    }
    const r = rebuild(d.containerID, d.ifname, owned);
    actions.push({
      kind: "rewrite-record",
      file: d.file,
      record: r,
      text: `rebuild ${rel(d.file)} (${d.why}) from the claims naming it: ${r.ips.map((e) => e.address).join(", ")}; the damaged file -> ${asideRel(d.file)}`,
    });
  }

  // 4. Claims whose record is gone: the record comes back from the claims.
  for (const [k, owned] of claimsBy) {
    if (scan.records.has(k) || scan.damagedRecords.has(k)) continue;
    const { containerID, ifname } = owned[0]!.claim;
    if (!storable(containerID, ifname)) {
      for (const o of owned) toHold.set(o.address, o.claim.pool);
      continue;
    }
    const r = rebuild(containerID, ifname, owned);
    actions.push({
      kind: "restore-record",
      record: r,
      text: `rebuild the missing record attachments/${containerID}/${ifname} from its claims: ${r.ips.map((e) => e.address).join(", ")} (so DEL or GC of ${k} releases them)`,
    });
  }

  // 5. Claims their owner's record does not list: kept, held by repair.
  for (const [address, { claim }] of scan.claims) {
    if (quarantineKeeps(scan, address, claim)) continue;
    const r = scan.records.get(keyOf(claim));
    if (r && !r.record.ips.some((e) => e.address === address)) toHold.set(address, claim.pool);
  }

  // 6. Damaged claims: replaced by a readable claim, never removed.
  const noDamagedRecords = scan.damagedRecords.size === 0;
  for (const [address, d] of scan.damagedClaims) {
    const listing = [...records.values()].filter((r) => r.ips.some((e) => e.address === address));
    if (listing.length === 1 && noDamagedRecords) {
      const r = listing[0]!;
      owners.set(address, keyOf(r));
      actions.push({
        kind: "rewrite-claim",
        address,
        owner: r,
        pool: r.ips.find((e) => e.address === address)!.pool,
        copyAside: d.isFile,
        text: `rewrite the claim ${rel(d.file)} (${d.why}) for ${keyOf(r)}, the one record listing ${address}; the damaged file -> ${asideRel(d.file)}`,
      });
    } else {
      toHold.set(address, listing[0]?.ips.find((e) => e.address === address)?.pool);
    }
  }

  // 7. Addresses kept by a record of repair's own, released only by a person.
  if (toHold.size > 0) {
    held.ips = [...toHold].map(([address, pool]) => entryFor(address, pool));
    const heldKey = keyOf(held);
    for (const e of held.ips) owners.set(e.address, heldKey);
    records.set(heldKey, held);
    actions.push({
      kind: "hold",
      record: held,
      // Readable claims and damaged regular files are kept as they were.
      copyAside: held.ips.filter((e) => scan.claims.has(e.address) || scan.damagedClaims.get(e.address)?.isFile).map((e) => e.address),
      text:
        `keep ${held.ips.map((e) => e.address).join(", ")} in use under ${heldKey}: no single owner can be told ` +
        `(free with \`spiderpool-ipam release --container-id ${held.containerID}\` once no pod uses ${held.ips.length > 1 ? "them" : "it"})`,
    });
  }

  // 8. Records holding none of the addresses they list: they hold nothing.
  for (const { record, file } of scan.records.values()) {
    const k = keyOf(record);
    const holds = record.ips.filter((e) => owners.get(e.address) === k);
    if (holds.length === record.ips.length) continue;
    if (holds.length > 0) {
      left.push(`${rel(file)} holds ${holds.map((e) => e.address).join(", ")} but not all it lists: left for the runtime's DEL or a retried ADD`);
      continue;
    }
    setAside(file, `holds none of ${record.ips.map((e) => e.address).join(", ") || "its addresses"}`);
  }

  // 9. Quarantines: a damaged record is rebuilt from its claim, one that holds nothing goes aside.
  for (const [address, d] of scan.damagedConflicts) {
    const claim = scan.claims.get(address)?.claim;
    if (!claim) {
      setAside(d.file, `${d.why}; its address has no readable claim, so it keeps nothing`);
      continue;
    }
    if (scan.records.get(keyOf(claim))?.record.ips.some((e) => e.address === address)) {
      setAside(d.file, `${d.why}; the claim on ${address} is its attachment's, which still lists it`);
      continue;
    }
    const conflict: ConflictRecord = { ...claim, address, family: parseIP(address)!.family, mac: "", detected: now };
    actions.push({
      kind: "rewrite-conflict",
      file: d.file,
      conflict,
      text: `rebuild ${rel(d.file)} (${d.why}) from the claim it keeps (${keyOf(claim)}); the quarantine counts from now; the damaged file -> ${asideRel(d.file)}`,
    });
  }
  for (const { address, file } of staleConflicts(scan)) setAside(file, `quarantines ${address}, whose claim is gone or another's: it holds nothing`);

  // 10. Leftovers of killed writers.
  for (const s of scan.strays) actions.push({ kind: "remove-temp", file: s, text: `remove stray temp file ${rel(s)}` });
  for (const d of scan.emptyDirs) actions.push({ kind: "remove-empty-dir", dir: d, text: `remove empty directory ${rel(d)}` });
  return { actions, left };
}
