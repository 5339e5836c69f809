// A small etcd v3 client over the JSON gateway every etcd 3.4+ member serves
// on its client URL (POST /v3/kv/range, /v3/kv/txn; keys and values base64,
// 64-bit numbers as strings): no gRPC library, only fetch, which also does
// TLS with client certificates.
//
// One client serves one plugin call and has one deadline, set by its first
// request: every request of the call shares `timeoutMs`, each endpoint is
// tried in turn, and when time is up the call fails with code 11 (try again
// later) naming what was tried.
// Nothing falls back to anything else.
//
// A request that timed out may still have been applied. Every write this
// project sends is a compare-and-swap whose compares make a second copy fail
// harmlessly, so a request is simply sent again, and the caller reads back
// what happened (see store.ts).
import { CniError, ErrorCode } from "../../cni/errors";

export interface EtcdClientOptions {
  endpoints: string[];
  timeoutMs: number;
  /** PEM texts (read by the caller): CA to trust, client certificate and key. */
  tls?: { ca?: string; cert?: string; key?: string };
}

export interface KeyValue {
  key: string;
  value: string;
  createRevision: string;
  modRevision: string;
}

export interface RangeOptions {
  /** Exclusive end of the key range; the single key when absent. */
  end?: string;
  limit?: number;
  keysOnly?: boolean;
  countOnly?: boolean;
  /** Read the store as it was at this revision (a consistent snapshot across pages). */
  revision?: string;
}

export interface RangeResult {
  kvs: KeyValue[];
  more: boolean;
  count: number;
  revision: string;
}

export type Compare =
  | { key: string; target: "CREATE"; result: "EQUAL"; createRevision: "0" }
  | { key: string; target: "MOD"; result: "EQUAL"; modRevision: string }
  | { key: string; target: "VALUE"; result: "EQUAL"; value: string };

export type Operation =
  | { put: { key: string; value: string } }
  | { deleteKey: string }
  /** One key, or every key in [key, end) when `end` is given. */
  | { range: { key: string; end?: string } };

export interface TxnResult {
  succeeded: boolean;
  /** For each range operation of the branch that ran, in order: the key's value, if any. */
  ranges: (KeyValue | undefined)[];
  /** For each range operation, in order: every key it read (for ranges with an end). */
  rangeKvs: KeyValue[][];
  revision: string;
}

/** etcd gave a definite answer that retrying cannot change (a bad request, a too-large transaction). */
export class EtcdRefused extends CniError {
  constructor(msg: string) {
    super(ErrorCode.IoFailure, msg);
  }

  /** The revision a read asked for is gone (etcd compacted its history): read again at the current one. */
  get compacted(): boolean {
    return /compacted/.test(this.message);
  }
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
const unb64 = (text: string | undefined) => (text === undefined ? "" : Buffer.from(text, "base64").toString("utf8"));

/**
 * The key just after every key that starts with `prefix` (etcd's range_end
 * for a prefix). UTF-8 sorts as code points do, so raising the last character
 * is enough; the store's prefixes all end in "/".
 */
export function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

interface RawKv {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
}

const decodeKv = (kv: RawKv): KeyValue => ({
  key: unb64(kv.key),
  value: unb64(kv.value),
  createRevision: kv.create_revision ?? "0",
  modRevision: kv.mod_revision ?? "0",
});

/** Transient answers: another member may do, or the same one a moment later. */
const RETRYABLE = /no leader|leader changed|timed out|timeout|unavailable|not capable|too many requests|stopped|connection/i;

/** A gRPC code in a gateway error body that says "try again": Unavailable, DeadlineExceeded, Aborted, ResourceExhausted, Unknown. */
const RETRYABLE_CODES = new Set([14, 4, 10, 8, 2]);

export class EtcdClient {
  private deadline: number | undefined;
  private preferred = 0;

  constructor(private readonly opts: EtcdClientOptions) {}

  /** Requests sent, including those sent again: for diagnostics (the bench counts retried transactions). */
  requests = 0;

  async range(key: string, opts: RangeOptions = {}): Promise<RangeResult> {
    const body: Record<string, unknown> = { key: b64(key) };
    if (opts.end !== undefined) body.range_end = b64(opts.end);
    if (opts.limit !== undefined) body.limit = String(opts.limit);
    if (opts.keysOnly) body.keys_only = true;
    if (opts.countOnly) body.count_only = true;
    if (opts.revision !== undefined) body.revision = opts.revision;
    const r = (await this.post("/v3/kv/range", body)) as { kvs?: RawKv[]; more?: boolean; count?: string; header?: { revision?: string } };
    return { kvs: (r.kvs ?? []).map(decodeKv), more: r.more === true, count: Number(r.count ?? 0), revision: r.header?.revision ?? "0" };
  }

  async get(key: string): Promise<KeyValue | undefined> {
    return (await this.range(key)).kvs[0];
  }

  async txn(compare: Compare[], success: Operation[], failure: Operation[] = []): Promise<TxnResult> {
    const body = {
      compare: compare.map((c) => {
        const out: Record<string, unknown> = { key: b64(c.key), target: c.target, result: c.result };
        if (c.target === "CREATE") out.create_revision = c.createRevision;
        if (c.target === "MOD") out.mod_revision = c.modRevision;
        if (c.target === "VALUE") out.value = b64(c.value);
        return out;
      }),
      success: success.map(encodeOp),
      failure: failure.map(encodeOp),
    };
    const r = (await this.post("/v3/kv/txn", body)) as {
      succeeded?: boolean;
      responses?: { response_range?: { kvs?: RawKv[] } }[];
      header?: { revision?: string };
    };
    const rangeKvs = (r.responses ?? []).filter((x) => x.response_range !== undefined).map((x) => (x.response_range?.kvs ?? []).map(decodeKv));
    const ranges = rangeKvs.map((kvs) => kvs[0]);
    return { succeeded: r.succeeded === true, ranges, rangeKvs, revision: r.header?.revision ?? "0" };
  }

  /** One request, sent to each endpoint in turn until one answers or the call's time is up. */
  private async post(path: string, body: unknown): Promise<unknown> {
    const { endpoints, timeoutMs } = this.opts;
    const failures = new Map<string, string>();
    const json = JSON.stringify(body);
    const deadline = (this.deadline ??= performance.now() + timeoutMs);
    for (let attempt = 0; ; attempt++) {
      const index = (this.preferred + attempt) % endpoints.length;
      const endpoint = endpoints[index]!;
      // A whole round of endpoints failed: a short pause before the next (an election takes ~1 s).
      if (attempt > 0 && index === this.preferred) await pause(Math.min(100, deadline - performance.now()));
      const left = deadline - performance.now();
      if (left <= 0) break;
      // One member may hang (stopped, partitioned): give each try a share of the call's time.
      const tryMs = Math.min(left, Math.max(timeoutMs / endpoints.length, 500));
      this.requests++;
      let res: Response;
      try {
        res = await fetch(endpoint + path, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: json,
          signal: AbortSignal.timeout(tryMs),
          ...(this.opts.tls ? { tls: this.opts.tls } : {}),
        } as RequestInit);
      } catch (e) {
        failures.set(endpoint, describeFetchError(e, tryMs));
        continue;
      }
      let text: string;
      try {
        text = await res.text();
      } catch (e) {
        failures.set(endpoint, describeFetchError(e, tryMs));
        continue;
      }
      if (res.ok) {
        this.preferred = index;
        try {
          return JSON.parse(text);
        } catch {
          failures.set(endpoint, `answered HTTP 200 with a body that is not JSON: ${text.slice(0, 200)}`);
          continue;
        }
      }
      const { message, code } = gatewayError(text);
      const what = `HTTP ${res.status}: ${message}`;
      if (res.status >= 500 || RETRYABLE_CODES.has(code) || RETRYABLE.test(message)) {
        failures.set(endpoint, what);
        continue;
      }
      throw new EtcdRefused(`etcd ${endpoint} refused ${path}: ${what}`);
    }
    const tried = endpoints.map((e) => `${e} (${failures.get(e) ?? "not reached in time"})`).join("; ");
    throw new CniError(
      ErrorCode.TryAgainLater,
      `etcd store unreachable within ${timeoutMs} ms (ipam.store.timeoutMs): ${tried}`,
      "no allocation was made from any other source; the call works again once a quorum of etcd members answers",
    );
  }
}

function encodeOp(op: Operation): Record<string, unknown> {
  if ("put" in op) return { request_put: { key: b64(op.put.key), value: b64(op.put.value) } };
  if ("deleteKey" in op) return { request_delete_range: { key: b64(op.deleteKey) } };
  return { request_range: { key: b64(op.range.key), ...(op.range.end !== undefined ? { range_end: b64(op.range.end) } : {}) } };
}

function gatewayError(text: string): { message: string; code: number } {
  try {
    const j = JSON.parse(text) as { error?: string; message?: string; code?: number };
    return { message: j.message ?? j.error ?? text.slice(0, 200), code: j.code ?? -1 };
  } catch {
    return { message: text.slice(0, 200), code: -1 };
  }
}

function describeFetchError(e: unknown, tryMs: number): string {
  const err = e as { name?: string; code?: string; message?: string };
  if (err.name === "TimeoutError" || err.name === "AbortError") return `no answer within ${Math.round(tryMs)} ms`;
  if (err.code && err.message?.startsWith(err.code)) return err.message;
  return [err.code, err.message].filter(Boolean).join(": ") || String(e);
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
