// One HTTP or HTTPS request from a test, with a CA and a client certificate
// when needed: Node's global fetch takes no certificate options, node:https does.
import { request as httpRequestRaw } from "node:http";
import { request as httpsRequestRaw } from "node:https";

export interface TlsMaterial {
  /** PEM contents, not paths. */
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface HttpRequestOptions {
  method?: "GET" | "POST";
  /** Sent as is with content-type application/json. */
  body?: string;
  headers?: Record<string, string>;
  /** For https URLs: the CA to trust and, optionally, the client certificate and key. */
  tls?: TlsMaterial;
  /** Abort when nothing arrives for this long (default 10 s): a SIGSTOPped server accepts but never answers. */
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  text: string;
}

/** Sends one request on a fresh connection and resolves with the status and body of any answer; rejects when none comes. */
export function httpRequest(url: string, opts: HttpRequestOptions = {}): Promise<HttpResponse> {
  const { method = opts.body === undefined ? "GET" : "POST", timeoutMs = 10_000 } = opts;
  const headers = { ...(opts.body === undefined ? {} : { "content-type": "application/json" }), ...opts.headers };
  const https = url.startsWith("https:");
  const send = https ? httpsRequestRaw : httpRequestRaw;
  return new Promise((resolve, reject) => {
    // agent: false: one connection per request, so no pooled socket outlives a killed member.
    const req = send(url, { method, headers, agent: false, timeout: timeoutMs, ...(https ? opts.tls : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${url}: no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(opts.body);
  });
}
