// Run by fill-store.mjs under Bun: writes N allocations into a store with
// lib/store's own layout and encoders (the format StoreTx.commit writes).
// Usage: bun fill-store.ts '<JSON options>' (see fill-store.mjs).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatIP, parseIP } from "../../lib/ip/address";
import { storeLayout } from "../../lib/store/layout";
import { encodeAttachment, encodeClaim, type AttachmentRecord } from "../../lib/store/records";

interface FillOptions {
  dataDir: string;
  pool: string;
  first: string;
  count: number;
  network?: string;
  ifname?: string;
}

const { dataDir, pool, first, count, network = "ipvlan-ens5", ifname = "eth0" } = JSON.parse(process.argv[2] ?? "{}") as FillOptions;
const l = storeLayout(dataDir);
for (const d of [l.root, l.attachments, l.claims, l.hints]) mkdirSync(d, { recursive: true, mode: 0o700 });
const hintFile = join(l.hints, pool);
const [fingerprint] = readFileSync(hintFile, "utf8").trim().split(" ");
const created = new Date().toISOString();
const start = parseIP(first);
if (!start || start.family !== 4) throw new Error(`first must be an IPv4 address, got ${first}`);
for (let i = 0; i < count; i++) {
  const containerID = `fill${String(i).padStart(6, "0")}`;
  const address = formatIP({ family: 4, value: start.value + BigInt(i) });
  const pod = { namespace: "bench", name: `pod-${i}`, uid: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}` };
  const record: AttachmentRecord = { containerID, ifname, network, pod, ips: [{ pool, address, family: 4, ordinal: String(i), fingerprint: fingerprint! }], created };
  mkdirSync(join(l.attachments, containerID), { mode: 0o700 });
  writeFileSync(join(l.attachments, containerID, ifname), encodeAttachment(record), { mode: 0o600 });
  writeFileSync(join(l.claims, address), encodeClaim(record, pool), { mode: 0o600 });
}
writeFileSync(hintFile, `${fingerprint} ${count}\n`, { mode: 0o600 });
