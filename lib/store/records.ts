// What the store keeps on disk, and how a damaged file is told apart from a
// missing one: damage is reported (code 5, file named), never reset, because a
// reset would hand addresses out twice.
import { CniError, ErrorCode } from "../cni/errors";

export interface PodRef {
  namespace?: string;
  name?: string;
  uid?: string;
}

/** One attachment: a container's interface and the addresses it holds. */
export interface AttachmentRecord {
  containerID: string;
  ifname: string;
  network: string;
  pod: PodRef;
  ips: { pool: string; address: string; family: 4 | 6 }[];
  created: string;
}

/** The claim on one address; the file's existence is what makes it used. */
export interface ClaimRecord {
  containerID: string;
  ifname: string;
  network: string;
  pool: string;
  pod: PodRef;
  created: string;
}

export function damaged(file: string, why: string): CniError {
  return new CniError(
    ErrorCode.IoFailure,
    `store file ${file} is damaged (${why}); it is left as is so that no address is given twice: ` +
      "inspect it, and move it out of dataDir only once no running pod uses the addresses it concerns",
  );
}

const isStr = (v: unknown): v is string => typeof v === "string";

function parseObject(text: string, file: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw damaged(file, text.length === 0 ? "empty" : "not valid JSON");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw damaged(file, "not a JSON object");
  return v as Record<string, unknown>;
}

export function parseAttachment(text: string, file: string): AttachmentRecord {
  const o = parseObject(text, file);
  if (!isStr(o.containerID) || !isStr(o.ifname) || !isStr(o.network) || !Array.isArray(o.ips)) {
    throw damaged(file, "missing containerID, ifname, network or ips");
  }
  for (const ip of o.ips as unknown[]) {
    const e = ip as Record<string, unknown> | null;
    if (!e || !isStr(e.pool) || !isStr(e.address) || (e.family !== 4 && e.family !== 6)) {
      throw damaged(file, "an entry of ips lacks pool, address or family");
    }
  }
  return o as unknown as AttachmentRecord;
}

export function parseClaim(text: string, file: string): ClaimRecord {
  const o = parseObject(text, file);
  if (!isStr(o.containerID) || !isStr(o.ifname) || !isStr(o.pool)) {
    throw damaged(file, "missing containerID, ifname or pool");
  }
  return o as unknown as ClaimRecord;
}
