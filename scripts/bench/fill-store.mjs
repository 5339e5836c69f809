// Fills a spiderpool-ipam store with N allocations quickly, for the scale rows.
//
// It writes the store's files directly, in exactly the format lib/store writes
// (see StoreTx.commit and StoreTx.setHint):
//   attachments/<containerID>/<ifname>   the attachment record, JSON + "\n"
//   ips/<address>                        the claim, JSON + "\n"
//   hints/<pool>                         "<fingerprint> <next ordinal>\n"
// Same keys in the same order as the plugin's ADD, mode 0600 files in 0700
// directories, but without the temp-file/rename/fsync protocol (a fresh store
// nobody else uses, filled once): 60,000 allocations take seconds instead of
// the minutes 60,000 ADDs would. The pool fingerprint comes from the plugin
// itself: the caller does one real ADD+DEL first, which leaves the hint file.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const ipv4 = (n) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
const parseIPv4 = (s) => s.split(".").reduce((acc, part) => acc * 256 + Number(part), 0);

/**
 * Claims `count` consecutive IPv4 addresses starting at `first` (the pool's
 * ordinal 0) for pool `pool`, one attachment per address, and sets the pool's
 * hint past them, keeping the fingerprint the plugin wrote.
 */
export function fillStore({ dataDir, pool, first, count, network = "ipvlan-ens5", ifname = "eth0" }) {
  const attachments = join(dataDir, "attachments");
  const claims = join(dataDir, "ips");
  const hints = join(dataDir, "hints");
  for (const d of [dataDir, attachments, claims, hints]) mkdirSync(d, { recursive: true, mode: 0o700 });
  const hintFile = join(hints, pool);
  const [fingerprint] = readFileSync(hintFile, "utf8").trim().split(" ");
  const created = new Date().toISOString();
  const start = parseIPv4(first);
  for (let i = 0; i < count; i++) {
    const containerID = `fill${String(i).padStart(6, "0")}`;
    const address = ipv4(start + i);
    const pod = { namespace: "bench", name: `pod-${i}`, uid: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}` };
    const record = { containerID, ifname, network, pod, ips: [{ pool, address, family: 4 }], created };
    const claim = { containerID, ifname, network, pool, pod, created };
    mkdirSync(join(attachments, containerID), { mode: 0o700 });
    writeFileSync(join(attachments, containerID, ifname), JSON.stringify(record) + "\n", { mode: 0o600 });
    writeFileSync(join(claims, address), JSON.stringify(claim) + "\n", { mode: 0o600 });
  }
  writeFileSync(hintFile, `${fingerprint} ${count}\n`, { mode: 0o600 });
}
