// A fake AWS instance metadata service, for the tests of `pools discover`.
// Run under Bun inside a network namespace (test/helpers/imds-netns.ts starts
// it there on 169.254.169.254:80):
//
//   bun test/helpers/imds-server.ts STATE_FILE HOST PORT
//
// It answers as IMDSv2 does: PUT /latest/api/token with a TTL header gives a
// session token, and every GET under /latest/meta-data/ without a token it
// issued gets 401. It reads STATE_FILE (JSON, ImdsState) on every request, so
// a test changes what the "ENI" holds by rewriting that file. It prints
// "listening PORT" once bound, and runs until killed.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

export interface ImdsState {
  /** By MAC: each field's answer as lines (device-number, local-ipv4s, ipv4-prefix, ...). A field left out answers 404. */
  interfaces: Record<string, Record<string, string[]>>;
  /**
   * Status of PUT /latest/api/token other than 200: 404 or 405 make an
   * IMDSv1-only service (GETs then need no token), 401 or 403 a service
   * refusing tokens.
   */
  tokenStatus?: number;
  /** Status of every GET with a valid token other than 200 (e.g. 401: the token refused). */
  getStatus?: number;
  /** Paths under /latest/meta-data/ answered 500 (a service failing half-way through). */
  failPaths?: string[];
  /** Accept connections and never answer. */
  silent?: boolean;
}

const TOKEN_PATH = "/latest/api/token";
const META = "/latest/meta-data/";
const MACS = "network/interfaces/macs/";

function send(res: ServerResponse, status: number, body = ""): void {
  res.writeHead(status, { "Content-Type": "text/plain", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

/** A metadata path's answer: 200 with lines, or 404. */
function metadata(state: ImdsState, path: string): [number, string] {
  const macs = Object.keys(state.interfaces);
  if (path === MACS) return [200, macs.map((m) => `${m}/`).join("\n")];
  const m = /^network\/interfaces\/macs\/([^/]+)\/(.*)$/.exec(path);
  const fields = m ? state.interfaces[m[1]!] : undefined;
  if (!m || !fields) return [404, "Not Found"];
  if (m[2] === "") return [200, Object.keys(fields).join("\n")];
  const value = fields[m[2]!];
  return value === undefined ? [404, "Not Found"] : [200, value.join("\n")];
}

function serve(stateFile: string, tokens: Set<string>, req: IncomingMessage, res: ServerResponse): void {
  const state = JSON.parse(readFileSync(stateFile, "utf8")) as ImdsState;
  if (state.silent) return; // the socket stays open, unanswered
  const url = req.url ?? "";
  const v1Only = state.tokenStatus === 404 || state.tokenStatus === 405;
  if (url === TOKEN_PATH && req.method === "PUT") {
    if (state.tokenStatus !== undefined && state.tokenStatus !== 200) return send(res, state.tokenStatus);
    const ttl = Number(req.headers["x-aws-ec2-metadata-token-ttl-seconds"]);
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return send(res, 400, "Bad Request");
    const token = randomBytes(24).toString("base64");
    tokens.add(token);
    return send(res, 200, token);
  }
  if (req.method !== "GET" || !url.startsWith(META)) return send(res, 404, "Not Found");
  const token = req.headers["x-aws-ec2-metadata-token"];
  if (!v1Only && (typeof token !== "string" || !tokens.has(token))) return send(res, 401, "Unauthorized");
  if (state.getStatus !== undefined && state.getStatus !== 200) return send(res, state.getStatus);
  const path = url.slice(META.length);
  if (state.failPaths?.includes(path)) return send(res, 500, "Internal Server Error");
  const [status, body] = metadata(state, path);
  send(res, status, body);
}

function main(): void {
  const [stateFile, host = "169.254.169.254", port = "80"] = process.argv.slice(2);
  if (!stateFile) throw new Error("usage: imds-server.ts STATE_FILE [HOST] [PORT]");
  const tokens = new Set<string>();
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    try {
      serve(stateFile, tokens, req, res);
    } catch (e) {
      send(res, 500, String(e));
    }
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  // Port 0 takes a free one: the line says which.
  server.listen(Number(port), host, () => process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`));
  process.on("SIGTERM", () => {
    for (const s of sockets) s.destroy();
    server.close(() => process.exit(0));
  });
}

if ((import.meta as { main?: boolean }).main) main();
