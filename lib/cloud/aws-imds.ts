// Reading a node's network interfaces from the AWS instance metadata service,
// IMDSv2 only: a session token from PUT /latest/api/token, then that token on
// every GET. Every request is bounded by its own timeout, and every failure
// is one Error whose message says what answered (or did not) and what it
// usually means. The answers are returned as text lists; turning them into
// pools is lib/ipam/discover.ts's job.
import { request } from "node:http";

export const DEFAULT_IMDS_URL = "http://169.254.169.254";

/** Where each value comes from, under /latest/meta-data/. */
export const MACS_PATH = "network/interfaces/macs/";
export const macPath = (mac: string, field: string) => `${MACS_PATH}${mac}/${field}`;

/** One elastic network interface (ENI) as the metadata service describes it. */
export interface EniMetadata {
  mac: string;
  deviceNumber: number;
  /** subnet-ipv4-cidr-block; undefined on an IPv6-only subnet. */
  subnetIpv4?: string;
  /** subnet-ipv6-cidr-blocks (none when the subnet has no IPv6). */
  subnetIpv6: string[];
  /** ipv4-prefix: delegated /28 prefixes. */
  ipv4Prefixes: string[];
  /** ipv6-prefix: delegated /80 prefixes. */
  ipv6Prefixes: string[];
  /** local-ipv4s: the first is the ENI's primary address, the rest are secondary. */
  localIpv4s: string[];
}

export interface ImdsOptions {
  /** Base URL of the service (default http://169.254.169.254). */
  url?: string;
  /** Bound of each request, from sending it to the end of its answer. */
  timeoutMs: number;
}

/** The session token's lifetime: one discovery needs it for seconds. */
const TOKEN_TTL_SECONDS = 60;
/** An answer longer than this is not a metadata value (the longest real ones are a few hundred bytes). */
const MAX_ANSWER_BYTES = 64 * 1024;

class ImdsClient {
  private token = "";

  constructor(
    private readonly base: string,
    private readonly timeoutMs: number,
  ) {}

  private describe(method: string, path: string): string {
    return `${method} ${this.base}${path}`;
  }

  /** One request; resolves with status and body, rejects with a message on no answer or a timeout. */
  private async request(method: "PUT" | "GET", path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
    try {
      return await exchange(new URL(`${this.base}${path}`), method, headers, this.timeoutMs);
    } catch (e) {
      throw new Error(`${this.describe(method, path)}: ${noAnswer(e, this.timeoutMs)}`);
    }
  }

  /** PUT /latest/api/token: IMDSv2's session token. */
  async startSession(): Promise<void> {
    const path = "/latest/api/token";
    const { status, body } = await this.request("PUT", path, { "X-aws-ec2-metadata-token-ttl-seconds": String(TOKEN_TTL_SECONDS) });
    const what = this.describe("PUT", path);
    if (status === 404 || status === 405) {
      throw new Error(
        `${what} answered ${status}: this metadata service does not offer IMDSv2 session tokens (an IMDSv1-only service, or not AWS's); ` +
          "discover speaks IMDSv2 only",
      );
    }
    if (status === 401 || status === 403) {
      throw new Error(
        `${what} answered ${status}: the metadata service refused a session token ` +
          "(IMDS disabled for this instance, or the request came through a proxy or from a container beyond the hop limit)",
      );
    }
    if (status !== 200) throw new Error(`${what} answered ${status}: expected 200 and a session token`);
    const token = body.trim();
    if (token === "" || /[\s\0]/.test(token)) throw new Error(`${what} answered 200 without a usable session token`);
    this.token = token;
  }

  /** GET /latest/meta-data/<path>; undefined on 404 when the value is optional. */
  async get(path: string, { optional = false } = {}): Promise<string | undefined> {
    const full = `/latest/meta-data/${path}`;
    const { status, body } = await this.request("GET", full, { "X-aws-ec2-metadata-token": this.token });
    const what = this.describe("GET", full);
    if (status === 200) return body;
    if (status === 404 && optional) return undefined;
    if (status === 404) throw new Error(`${what} answered 404: the metadata service has no such value`);
    if (status === 401) throw new Error(`${what} answered 401: the metadata service refused the session token it issued (expired or not its own)`);
    if (status === 403) throw new Error(`${what} answered 403: the metadata service refused access (IMDS disabled, or instance tags only)`);
    throw new Error(`${what} answered ${status}`);
  }
}

/**
 * One HTTP exchange through node:http, not fetch: Bun's fetch sends through
 * HTTP_PROXY whatever the address, and the metadata service must be asked
 * directly (a proxy would see the token, and answer for another host). One
 * signal bounds the request and the whole answer, so a service that sends
 * headers and then stalls is bounded too.
 */
function exchange(url: URL, method: string, headers: Record<string, string>, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
        if (body.length > MAX_ANSWER_BYTES) req.destroy(new Error(`an answer over ${MAX_ANSWER_BYTES} bytes is not instance metadata`));
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** Why a request got no answer, in the words a person on the node needs. */
function noAnswer(e: unknown, timeoutMs: number): string {
  const err = e as { name?: string; code?: string; message?: string };
  if (err?.name === "TimeoutError" || err?.name === "AbortError") {
    return (
      `no answer within ${timeoutMs} ms (--timeout-ms): not an EC2 instance, the metadata service is disabled, ` +
      "or, from a container, the session token's hop limit (http-put-response-hop-limit) is too low"
    );
  }
  const detail = err?.code ? `${err.code}${err.message ? `: ${err.message}` : ""}` : (err?.message ?? String(e));
  return `no metadata service answered (${detail}): not an EC2 instance, or the metadata service is disabled`;
}

/** The non-empty lines of a list answer. */
const lines = (text: string | undefined): string[] =>
  (text ?? "")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");

/** Every network interface of this instance, in device-number order. */
export async function readEnis({ url = DEFAULT_IMDS_URL, timeoutMs }: ImdsOptions): Promise<EniMetadata[]> {
  const client = new ImdsClient(url.replace(/\/+$/, ""), timeoutMs);
  await client.startSession();
  const macs = lines(await client.get(MACS_PATH)).map((l) => l.replace(/\/$/, ""));
  if (macs.length === 0) throw new Error(`${url}/latest/meta-data/${MACS_PATH} lists no network interface`);
  for (const mac of macs) {
    // A MAC becomes part of a request path: refuse anything else.
    if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) throw new Error(`${url}/latest/meta-data/${MACS_PATH} lists ${JSON.stringify(mac)}, not a MAC address`);
  }
  const enis = await Promise.all(macs.map((mac) => readEni(client, mac)));
  return enis.sort((a, b) => a.deviceNumber - b.deviceNumber);
}

async function readEni(client: ImdsClient, mac: string): Promise<EniMetadata> {
  const get = (field: string, optional = true) => client.get(macPath(mac, field), { optional });
  const [device, subnetIpv4, subnetIpv6, ipv4Prefixes, ipv6Prefixes, localIpv4s] = await Promise.all([
    get("device-number", false),
    get("subnet-ipv4-cidr-block"),
    get("subnet-ipv6-cidr-blocks"),
    get("ipv4-prefix"),
    get("ipv6-prefix"),
    get("local-ipv4s"),
  ]);
  const deviceText = (device ?? "").trim();
  if (!/^\d{1,4}$/.test(deviceText)) throw new Error(`${macPath(mac, "device-number")}: ${JSON.stringify(deviceText)} is not a device number`);
  const eni: EniMetadata = {
    mac,
    deviceNumber: Number(deviceText),
    subnetIpv6: lines(subnetIpv6),
    ipv4Prefixes: lines(ipv4Prefixes),
    ipv6Prefixes: lines(ipv6Prefixes),
    localIpv4s: lines(localIpv4s),
  };
  const v4 = lines(subnetIpv4)[0];
  if (v4 !== undefined) eni.subnetIpv4 = v4;
  return eni;
}
