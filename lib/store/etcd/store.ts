// The etcd backend of the IPAM store: one store for every node of a cluster,
// for pools that several nodes share (see docs/etcd-store.md for the design
// and why it was chosen over per-node blocks or one object per pool).
//
// Every address in use is one key (a claim); every attachment one record
// under its node. ADD writes the record and all its claims in one
// transaction whose compares say "none of these keys exists yet, and the
// pool's stored definition is the one this node has": two nodes can never
// hold one address, dual-stack is all-or-nothing, and a transaction sent
// twice (a timeout after etcd applied it) fails harmlessly the second time.
// DEL deletes the record and the claims it owns in one transaction compared
// on their revisions; a claim ipvlan-attach reported a conflict on stays,
// kept by a conflict record written in that same transaction.
import { CniError, ErrorCode, invalidConfig } from "../../cni/errors";
import { quarantineOver, type QuarantinePolicy } from "../../ipam/conflicts";
import { formatIP, parseIP, type Family, type IPAddr } from "../../ip/address";
import { poolsExhausted, requestedByFamily, takeRequested, type Allocation } from "../../ipam/allocate";
import type { Pool } from "../../ipam/pool";
import type { IPRange } from "../../ip/range";
import type { Selection } from "../../ipam/select";
import { fnv1a64 } from "../../hash";
import { note } from "../../timing";
import { readText } from "../../sys/fs";
import {
  attachmentKey as keyOf, conflictChosen, PoolsChangedError, type AllocationRequest, type AttachmentKey, type ConflictFilter, type ConflictReport, type IpamStore, type QuarantinedAddress,
} from "../backend";
import type { EtcdStoreSettings } from "../../ipam/store-config";
import { notHeld, notRecorded, recordedIP } from "../local";
import type { AttachmentRecord, RecordedIP } from "../records";
import { EtcdClient, EtcdRefused, prefixEnd, type Compare, type KeyValue, type Operation } from "./client";
import { etcdKeys, isKeySegment, poolDefinition, storedFingerprint, type EtcdKeys } from "./keys";
import { nextInPage, scanSegments } from "./scan";

export interface EtcdStoreOptions {
  settings: EtcdStoreSettings;
  nodeName: string;
}

/** What the store keeps under an attachment key: the record, and the node that made it. */
interface StoredAttachment extends AttachmentRecord {
  v: 1;
  node: string;
}

/** What the store keeps under a claim key: who holds the address. */
interface StoredClaim {
  v: 1;
  address: string;
  pool: string;
  node: string;
  containerID: string;
  ifname: string;
  network: string;
  pod: AttachmentRecord["pod"];
  created: string;
}

/**
 * What the store keeps under a conflict key: a quarantined address, and the
 * exact text of the claim the quarantine keeps (no other claim is freed by it).
 */
interface StoredConflict extends QuarantinedAddress {
  v: 1;
  node: string;
  claim: string;
}

/** Claim keys read per request while looking for a free address. */
const PAGE = 256;
/** Rounds of "scan, then compare-and-create" an ADD tries while other nodes keep taking what it chose. */
const MAX_ROUNDS = 64;

export interface PoolUsage {
  allocated: number;
  /** Quarantined addresses (counted in `allocated` too: their claims stay). */
  conflicts: number;
  byNode: Map<string, number>;
}

export class EtcdStore implements IpamStore {
  private readonly keys: EtcdKeys;
  /** Transactions that failed their compares and were tried again (for the bench). */
  retries = 0;

  private constructor(
    readonly client: EtcdClient,
    private readonly node: string,
    prefix: string,
  ) {
    this.keys = etcdKeys(prefix);
  }

  static open({ settings, nodeName }: EtcdStoreOptions): EtcdStore {
    if (!isKeySegment(nodeName)) throw invalidConfig(`node name ${JSON.stringify(nodeName)} cannot name this node's records in etcd`);
    const tls: { ca?: string; cert?: string; key?: string } = {};
    const read = (what: string, file: string | undefined) => {
      if (file === undefined) return undefined;
      try {
        return readText(file);
      } catch (e) {
        throw invalidConfig(`ipam.store.tls.${what} ${file} cannot be read: ${(e as Error).message}`);
      }
    };
    const ca = read("caFile", settings.tls?.caFile);
    const cert = read("certFile", settings.tls?.certFile);
    const key = read("keyFile", settings.tls?.keyFile);
    if (ca !== undefined) tls.ca = ca;
    if (cert !== undefined) tls.cert = cert;
    if (key !== undefined) tls.key = key;
    const client = new EtcdClient({ endpoints: settings.endpoints, timeoutMs: settings.timeoutMs, ...(settings.tls ? { tls } : {}) });
    return new EtcdStore(client, nodeName, settings.prefix);
  }

  async allocate({ owner, selection, requested, pools, quarantine, poolsUnchanged }: AllocationRequest): Promise<Allocation[]> {
    const key = this.keys.attachment(this.node, owner.containerID, owner.ifname);
    // The definitions of every candidate pool and the quarantined addresses come with the record in one read.
    const candidates = uniqueByName([...selection.v4, ...selection.v6]);
    const conflictsPrefix = this.keys.allConflicts();
    for (let round = 1; round <= MAX_ROUNDS; round++) {
      if (poolsUnchanged && !poolsUnchanged()) throw new PoolsChangedError();
      const read = await this.client.txn([], [
        ...[key, ...candidates.map((p) => this.keys.pool(p.name))].map((k) => ({ range: { key: k } })),
        { range: { key: conflictsPrefix, end: prefixEnd(conflictsPrefix) } },
      ]);
      const [existing, ...storedDefinitions] = read.ranges.slice(0, -1);
      const conflicts = read.rangeKvs[read.rangeKvs.length - 1] ?? [];
      if (existing) {
        const record = this.parseAttachment(existing);
        const kept = await this.intactAllocations(record, pools);
        if (!kept) {
          await this.removeRecord(existing, record); // not whole (edited by hand?): start over
          continue;
        }
        // A DEL of this attachment may still be on its way to etcd (its process
        // was killed or gave up, the runtime retried ADD); it compares the
        // record's revision. Writing the record again makes such a DEL fail,
        // so the addresses answered here stay held.
        const touched = await this.client.txn([{ key, target: "MOD", result: "EQUAL", modRevision: existing.modRevision }], [{ put: { key, value: existing.value } }]);
        if (touched.succeeded) return kept;
        this.retries++;
        continue;
      }
      if (round === 1 && conflicts.length > 0) {
        // Quarantines of the candidate pools whose hold is over end first; one that cannot (damaged, changed) waits.
        const names = new Set(candidates.map((p) => p.name));
        await this.endQuarantines(conflicts, (c) => names.has(c.pool) && quarantineOver(c.detected, quarantine), () => {});
      }
      let planned: Allocation[];
      try {
        planned = await this.plan(selection, requested, `${this.node}\0${owner.containerID}\0${owner.ifname}`);
      } catch (e) {
        if (e instanceof EtcdRefused && e.compacted) continue; // the scan's revision was compacted away meanwhile
        throw e;
      }
      const record: StoredAttachment = { v: 1, ...owner, node: this.node, ips: planned.map(recordedIP) };
      const claims = record.ips.map((entry) => ({ key: this.keys.claim(parseIP(entry.address)!), value: this.claimText(record, entry) }));
      const storedByPool = new Map(candidates.map((p, i) => [p.name, storedDefinitions[i]]));
      const definitions = uniqueByName(planned.map((a) => a.pool)).map((pool) => ({ pool, key: this.keys.pool(pool.name), ...poolDefinition(pool) }));
      const stored = definitions.map((d) => storedByPool.get(d.pool.name));
      definitions.forEach((d, i) => {
        const kv = stored[i];
        if (kv && kv.value !== d.text) throw definitionMismatch(d.pool, d.definition.fingerprint, storedFingerprint(kv.value));
      });
      const compare: Compare[] = [
        { key, target: "CREATE", result: "EQUAL", createRevision: "0" },
        ...claims.map((c): Compare => ({ key: c.key, target: "CREATE", result: "EQUAL", createRevision: "0" })),
        ...definitions.map((d, i): Compare =>
          stored[i] ? { key: d.key, target: "VALUE", result: "EQUAL", value: d.text } : { key: d.key, target: "CREATE", result: "EQUAL", createRevision: "0" },
        ),
      ];
      const success: Operation[] = [
        { put: { key, value: JSON.stringify(record) } },
        ...claims.map((c) => ({ put: c })),
        ...definitions.filter((_, i) => !stored[i]).map((d) => ({ put: { key: d.key, value: d.text } })),
      ];
      const failure: Operation[] = definitions.map((d) => ({ range: { key: d.key } }));
      const r = await this.client.txn(compare, success, failure);
      if (r.succeeded) {
        note("etcd-retries", this.retries);
        note("etcd-requests", this.client.requests);
        return planned;
      }
      // Someone else was faster: a claim taken, this attachment recorded (a
      // retried ADD, or our own transaction applied before a timeout), or a
      // pool defined. The next round reads what is there now.
      this.retries++;
      definitions.forEach((d, i) => {
        const now = r.ranges[i];
        if (now && now.value !== d.text) throw definitionMismatch(d.pool, d.definition.fingerprint, storedFingerprint(now.value));
      });
    }
    throw new CniError(
      ErrorCode.TryAgainLater,
      `gave up after ${MAX_ROUNDS} rounds: other nodes took every address this node chose first`,
      "retry later; this is contention, not exhaustion",
    );
  }

  async release(containerID: string, ifname: string, _pools?: Pool[], report?: ConflictReport): Promise<string[]> {
    const released = await this.releaseKey(this.keys.attachment(this.node, containerID, ifname), report);
    if (released || !report) return released?.quarantined ?? [];
    // A DEL repeated after it quarantined them: the same answer.
    const addresses = report.conflicts.map((c) => c.address);
    const kvs = await this.multiGet(addresses.map((a) => this.keys.conflict(parseIP(a)!)));
    return addresses.filter((_, i) => {
      const kv = kvs[i];
      if (!kv) return false;
      try {
        const c = this.parseConflict(kv);
        return c.node === this.node && c.containerID === containerID && c.ifname === ifname;
      } catch {
        return false; // not this DEL's to judge: `release --conflicts` names it
      }
    });
  }

  async verify(containerID: string, ifname: string): Promise<AttachmentRecord> {
    const kv = await this.client.get(this.keys.attachment(this.node, containerID, ifname));
    if (!kv) throw notRecorded(containerID, ifname);
    const record = this.parseAttachment(kv);
    const claims = await this.claimsOf(record);
    record.ips.forEach((entry, i) => {
      const claim = claims[i];
      if (!claim || !this.owns(claim, record)) throw notHeld(entry.address, containerID, ifname, claim && `${claim.node}/${claim.containerID}/${claim.ifname}`);
    });
    return record;
  }

  async collect(network: string, valid: Set<AttachmentKey>, quarantine: QuarantinePolicy): Promise<void> {
    const errors: unknown[] = [];
    // Quarantines of this network whose hold is over end; the others keep their claims (GC never touches a claim without a record here).
    await this.endQuarantines(await this.listPrefix(this.keys.allConflicts()), (c) => c.network === network && quarantineOver(c.detected, quarantine), (e) => errors.push(e));
    for (const kv of await this.listPrefix(this.keys.attachmentsOf(this.node))) {
      try {
        const record = this.parseAttachment(kv);
        if (record.network !== network || valid.has(keyOf(record))) continue;
        await this.releaseKey(kv.key);
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length > 0) throw errors[0];
  }

  async hasFree(pools: Pool[], quarantine: QuarantinePolicy): Promise<boolean> {
    const snapshot: Snapshot = {};
    for (const pool of pools) if ((await this.findFree(pool, 0n, snapshot)) !== undefined) return true;
    // A quarantine whose hold is over: the next ADD of its pool frees it first.
    return (await this.listPrefix(this.keys.allConflicts())).some((kv) => {
      try {
        const c = this.parseConflict(kv);
        return pools.some((p) => p.name === c.pool) && quarantineOver(c.detected, quarantine);
      } catch {
        return false; // unreadable: never freed by guess
      }
    });
  }

  async releaseContainer(containerID: string, ifname?: string): Promise<AttachmentRecord[]> {
    return this.releaseAll(this.keys.attachmentsOf(this.node, containerID), (r) => !ifname || r.ifname === ifname);
  }

  /** `release --node`: frees everything a node that is gone for good held. */
  async releaseNode(node: string): Promise<AttachmentRecord[]> {
    if (!isKeySegment(node)) throw invalidConfig(`${JSON.stringify(node)} is not a node name`);
    return this.releaseAll(this.keys.attachmentsOf(node), () => true);
  }

  async releaseConflicts(filter: ConflictFilter): Promise<QuarantinedAddress[]> {
    const kvs = (await this.listPrefix(this.keys.allConflicts())).filter((kv) => {
      const ip = this.keys.addressOfConflict(kv.key);
      return filter.addresses === undefined || (ip !== undefined && filter.addresses.includes(formatIP(ip)));
    });
    for (const kv of kvs) this.parseConflict(kv); // one that cannot be read is never freed by guess (code 5)
    const released: QuarantinedAddress[] = [];
    await this.endQuarantines(kvs, (c) => conflictChosen(filter, c), (e) => {
      throw e;
    }, (c) => released.push(c));
    return released;
  }

  private async releaseAll(prefix: string, chosen: (r: StoredAttachment) => boolean): Promise<AttachmentRecord[]> {
    const released: AttachmentRecord[] = [];
    for (const kv of await this.listPrefix(prefix)) {
      if (!chosen(this.parseAttachment(kv))) continue;
      const done = await this.releaseKey(kv.key);
      if (done) released.push(done.record);
    }
    return released;
  }

  /**
   * Deletes the record under `key` and the claims it owns (quarantining the
   * reported ones instead); returns it with the addresses quarantined, or
   * undefined when there was none.
   */
  private async releaseKey(key: string, report?: ConflictReport): Promise<{ record: StoredAttachment; quarantined: string[] } | undefined> {
    for (let round = 1; round <= MAX_ROUNDS; round++) {
      const kv = await this.client.get(key);
      if (!kv) return undefined;
      const record = this.parseAttachment(kv);
      const quarantined = await this.removeRecord(kv, record, report);
      if (quarantined) return { record, quarantined };
      this.retries++;
    }
    throw new CniError(ErrorCode.TryAgainLater, `could not release ${key}: its record kept changing`);
  }

  /** The claims inside `ranges`, with who holds them (`pools discover` names them before taking their addresses out of a pool). */
  async claimsIn(ranges: IPRange[]): Promise<Pick<StoredClaim, "address" | "node" | "containerID" | "ifname" | "pod">[]> {
    const out: StoredClaim[] = [];
    for (const r of ranges) {
      const from = this.keys.claim({ family: r.family, value: r.start });
      const end = this.keys.claimRangeEnd({ family: r.family, value: r.end });
      for (const kv of await this.listRange(from, end)) out.push(this.parseClaim(kv));
    }
    return out;
  }

  /** Cluster-wide use of each pool's addresses, and per node (for `pools`). */
  async usage(pools: Pool[]): Promise<Map<string, PoolUsage>> {
    const out = new Map<string, PoolUsage>();
    for (const pool of pools) {
      const usage: PoolUsage = { allocated: 0, conflicts: 0, byNode: new Map() };
      for (const r of pool.usable) {
        const first = { family: pool.family, value: r.start };
        const last = { family: pool.family, value: r.end };
        usage.conflicts += (await this.client.range(this.keys.conflict(first), { end: this.keys.conflictRangeEnd(last), countOnly: true })).count;
        const from = this.keys.claim(first);
        const end = this.keys.claimRangeEnd(last);
        for (const kv of await this.listRange(from, end)) {
          usage.allocated++;
          const node = this.parseClaim(kv).node;
          usage.byNode.set(node, (usage.byNode.get(node) ?? 0) + 1);
        }
      }
      out.set(pool.name, usage);
    }
    return out;
  }

  /** One address per requested family, chosen from what etcd holds now; `seed` places this attachment's scans. */
  private async plan(selection: Selection, requested: IPAddr[], seed: string): Promise<Allocation[]> {
    const wanted = requestedByFamily(selection, requested);
    const taken = new Set<string>();
    const wantedList = [...wanted.values()];
    const claimed = await this.multiGet(wantedList.map((ip) => this.keys.claim(ip)));
    wantedList.forEach((ip, i) => {
      if (claimed[i]) taken.add(formatIP(ip));
    });
    // The families are independent: both are looked for at once, each scan at a revision of its own.
    const families = ([[4, selection.v4], [6, selection.v6]] as const).filter(([, candidates]) => candidates.length > 0);
    return Promise.all(
      families.map(([family, candidates]) => {
        const want = wanted.get(family);
        if (want) return takeRequested(candidates, want, (_pool, text) => taken.has(text));
        return this.takeFirstFree(candidates, family, {}, seed);
      }),
    );
  }

  private async takeFirstFree(candidates: Pool[], family: Family, snapshot: Snapshot, seed: string): Promise<Allocation> {
    for (const pool of candidates) {
      const value = await this.findFree(pool, startOrdinal(pool, seed), snapshot);
      if (value !== undefined) return { pool, ip: { family: pool.family, value } };
    }
    throw poolsExhausted(candidates, family);
  }

  /**
   * The first address not claimed, scanning from ordinal `start` and
   * wrapping around, all pages read at one revision: "none free" is then
   * true of one instant, never an artefact of claims moving between pages.
   */
  private async findFree(pool: Pool, start: bigint, snapshot: Snapshot): Promise<bigint | undefined> {
    const ip = (value: bigint): IPAddr => ({ family: pool.family, value });
    for (const segment of scanSegments(pool, start)) {
      let candidate = segment.from;
      for (;;) {
        const page = await this.client.range(this.keys.claim(ip(candidate)), {
          end: this.keys.claimRangeEnd(ip(segment.to)),
          limit: PAGE,
          keysOnly: true,
          ...(snapshot.revision ? { revision: snapshot.revision } : {}),
        });
        snapshot.revision ??= page.revision;
        const used = page.kvs.flatMap((kv) => this.keys.addressOfClaim(kv.key)?.value ?? []);
        const step = nextInPage(candidate, segment.to, used, !page.more);
        if (!step) break;
        if ("free" in step) return step.free;
        candidate = step.next;
      }
    }
    return undefined;
  }

  /** The allocations a record still holds, if every claim is its own and every pool still known. */
  private async intactAllocations(record: StoredAttachment, pools: Pool[]): Promise<Allocation[] | undefined> {
    const claims = await this.claimsOf(record);
    const allocs: Allocation[] = [];
    for (const [i, entry] of record.ips.entries()) {
      const claim = claims[i];
      const pool = pools.find((p) => p.name === entry.pool);
      const ip = parseIP(entry.address);
      if (!claim || !this.owns(claim, record) || !pool || !ip) return undefined;
      allocs.push({ pool, ip });
    }
    return allocs.length > 0 ? allocs : undefined;
  }

  /**
   * Deletes a record and the claims it owns, if neither changed since read;
   * a reported claim stays, kept by a conflict record put in the same
   * transaction. Returns the addresses quarantined, or false when something changed.
   */
  private async removeRecord(kv: KeyValue, record: StoredAttachment, report?: ConflictReport): Promise<string[] | false> {
    const keys = record.ips.map((e) => this.keys.claim(parseIP(e.address)!));
    const attachment: Compare = { key: kv.key, target: "MOD", result: "EQUAL", modRevision: kv.modRevision };
    const macs = new Map(report?.conflicts.map((c) => [c.address, c.mac]));
    const detected = report?.detected.toISOString() ?? "";
    // A held claim either goes or, reported, stays with its conflict record.
    const settle = (entry: RecordedIP, claimKey: string, claimText: string): Operation => {
      const mac = macs.get(entry.address);
      if (mac === undefined) return { deleteKey: claimKey };
      const conflict: StoredConflict = {
        v: 1, address: entry.address, pool: entry.pool, node: record.node, containerID: record.containerID, ifname: record.ifname,
        network: record.network, mac, detected, claim: claimText,
      };
      return { put: { key: this.keys.conflict(parseIP(entry.address)!), value: JSON.stringify(conflict) } };
    };
    // Claims as this record's ADD wrote them: compared by value, nothing needs reading first.
    const texts = record.ips.map((e) => this.claimText(record, e));
    const asWritten = await this.client.txn(
      [attachment, ...record.ips.map((e, i): Compare => ({ key: keys[i]!, target: "VALUE", result: "EQUAL", value: texts[i]! }))],
      [{ deleteKey: kv.key }, ...record.ips.map((e, i) => settle(e, keys[i]!, texts[i]!))],
    );
    if (asWritten.succeeded) return record.ips.filter((e) => macs.has(e.address)).map((e) => e.address);
    // Otherwise (a claim missing, or not this record's): delete the record and only the claims it owns.
    const claims = await this.multiGet(keys);
    const owned = record.ips.flatMap((entry, i) => {
      const c = claims[i];
      return c !== undefined && this.owns(this.parseClaim(c), record) ? [{ entry, kv: c }] : [];
    });
    const r = await this.client.txn(
      [attachment, ...owned.map(({ kv: c }): Compare => ({ key: c.key, target: "MOD", result: "EQUAL", modRevision: c.modRevision }))],
      [{ deleteKey: kv.key }, ...owned.map(({ entry, kv: c }) => settle(entry, c.key, c.value))],
    );
    return r.succeeded ? owned.filter(({ entry }) => macs.has(entry.address)).map(({ entry }) => entry.address) : false;
  }

  /**
   * Ends the quarantines `chosen` picks among `kvs` (conflict keys): the
   * record and the claim it keeps go in one transaction. A record whose claim
   * is gone or someone else's holds nothing and goes alone. One that changed
   * meanwhile is left; one that cannot be read, or fails, goes to `failed`.
   */
  private async endQuarantines(
    kvs: KeyValue[],
    chosen: (c: StoredConflict) => boolean,
    failed: (e: unknown) => void,
    ended: (c: StoredConflict) => void = () => {},
  ): Promise<void> {
    for (const kv of kvs) {
      try {
        const conflict = this.parseConflict(kv);
        if (!chosen(conflict)) continue;
        const claimKey = this.keys.claim(parseIP(conflict.address)!);
        const same: Compare = { key: kv.key, target: "MOD", result: "EQUAL", modRevision: kv.modRevision };
        const r = await this.client.txn(
          [same, { key: claimKey, target: "VALUE", result: "EQUAL", value: conflict.claim }],
          [{ deleteKey: kv.key }, { deleteKey: claimKey }],
          [{ range: { key: kv.key } }, { range: { key: claimKey } }],
        );
        if (r.succeeded) {
          ended(conflict);
          continue;
        }
        const [now, claim] = r.ranges;
        if (now?.modRevision === kv.modRevision && claim?.value !== conflict.claim) {
          if ((await this.client.txn([same], [{ deleteKey: kv.key }])).succeeded) ended(conflict);
        }
      } catch (e) {
        failed(e);
      }
    }
  }

  private async claimsOf(record: StoredAttachment): Promise<(StoredClaim | undefined)[]> {
    const kvs = await this.multiGet(record.ips.map((e) => this.keys.claim(parseIP(e.address)!)));
    return kvs.map((kv) => (kv ? this.parseClaim(kv) : undefined));
  }

  private owns(claim: StoredClaim, record: StoredAttachment): boolean {
    return claim.node === record.node && claim.containerID === record.containerID && claim.ifname === record.ifname;
  }

  /** The claim of one address of `record`, as text: the same record always gives the same bytes. */
  private claimText(record: StoredAttachment, entry: { pool: string; address: string }): string {
    const claim: StoredClaim = {
      v: 1,
      address: entry.address,
      pool: entry.pool,
      node: record.node,
      containerID: record.containerID,
      ifname: record.ifname,
      network: record.network,
      pod: record.pod,
      created: record.created,
    };
    return JSON.stringify(claim);
  }

  /** Several keys in one round trip (a transaction without compares). */
  private async multiGet(keys: string[]): Promise<(KeyValue | undefined)[]> {
    if (keys.length === 0) return [];
    return (await this.client.txn([], keys.map((key) => ({ range: { key } })))).ranges;
  }

  private listPrefix(prefix: string): Promise<KeyValue[]> {
    return this.listRange(prefix, prefixEnd(prefix));
  }

  /** Every key in [from, end), page by page at one revision. */
  private async listRange(from: string, end: string): Promise<KeyValue[]> {
    const out: KeyValue[] = [];
    let revision: string | undefined;
    for (let key = from; ; ) {
      const page = await this.client.range(key, { end, limit: PAGE, ...(revision ? { revision } : {}) });
      revision ??= page.revision;
      out.push(...page.kvs);
      if (!page.more || page.kvs.length === 0) return out;
      key = page.kvs[page.kvs.length - 1]!.key + "\0";
    }
  }

  private parseAttachment(kv: KeyValue): StoredAttachment {
    const o = parseStored(kv);
    const ok =
      typeof o.containerID === "string" && typeof o.ifname === "string" && typeof o.network === "string" && typeof o.node === "string" &&
      Array.isArray(o.ips) && (o.ips as unknown[]).every((e) => {
        const x = e as Record<string, unknown> | null;
        return !!x && typeof x.pool === "string" && typeof x.address === "string" && parseIP(x.address) !== undefined;
      });
    if (!ok) throw damagedKey(kv.key, "not an attachment record (containerID, ifname, network, node, ips)");
    if (typeof o.pod !== "object" || o.pod === null) o.pod = {};
    return o as unknown as StoredAttachment;
  }

  private parseConflict(kv: KeyValue): StoredConflict {
    const o = parseStored(kv);
    const fields = ["address", "pool", "node", "containerID", "ifname", "network", "mac", "detected", "claim"] as const;
    if (fields.some((f) => typeof o[f] !== "string")) throw damagedKey(kv.key, `not a conflict record (${fields.join(", ")})`);
    const ip = parseIP(o.address as string);
    if (!ip || this.keys.conflict(ip) !== kv.key) throw damagedKey(kv.key, "its address is not the one its key names");
    return o as unknown as StoredConflict;
  }

  private parseClaim(kv: KeyValue): StoredClaim {
    const o = parseStored(kv);
    if (typeof o.node !== "string" || typeof o.containerID !== "string" || typeof o.ifname !== "string") {
      throw damagedKey(kv.key, "not a claim (node, containerID, ifname)");
    }
    return o as unknown as StoredClaim;
  }
}

/**
 * Where an attachment starts looking in a pool: a place of its own (from its
 * node, container and interface), so that ADDs running at the same time, on
 * one node or on several, rarely pick the same address and seldom have to
 * try again. The scan wraps around, so every free address is still found.
 */
function startOrdinal(pool: Pool, seed: string): bigint {
  if (pool.total === 0n) return 0n;
  return BigInt(`0x${fnv1a64(`${seed}\0${pool.name}`)}`) % pool.total;
}

/** Revision a scan's pages are read at, fixed by its first page. */
interface Snapshot {
  revision?: string;
}

function parseStored(kv: KeyValue): Record<string, unknown> {
  let o: unknown;
  try {
    o = JSON.parse(kv.value);
  } catch {
    throw damagedKey(kv.key, "not JSON");
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) throw damagedKey(kv.key, "not a JSON object");
  const v = (o as { v?: unknown }).v;
  if (v !== 1) throw damagedKey(kv.key, `format version ${JSON.stringify(v)}, this plugin reads version 1`);
  return o as Record<string, unknown>;
}

const damagedKey = (key: string, why: string) =>
  new CniError(ErrorCode.IoFailure, `etcd key ${key} is damaged (${why}); it is left as is so that no address is given twice`);

function definitionMismatch(pool: Pool, ours: string, theirs: string): CniError {
  return new CniError(
    ErrorCode.InvalidConfig,
    `pool ${pool.name} differs between nodes: this node's definition has fingerprint ${ours}, the one stored in etcd by the nodes already using it has ${theirs}; ` +
      "every node must have the same spec.subnet, spec.ips, spec.excludeIPs and spec.gateway for a pool (see docs/etcd-store.md, \"Changing a shared pool\")",
  );
}

function uniqueByName(pools: Pool[]): Pool[] {
  return [...new Map(pools.map((p) => [p.name, p])).values()];
}
