// A strict reader of the Prometheus text exposition format (0.0.4), for tests:
// it throws on anything node_exporter's textfile collector would reject, and
// on what we promise beyond that (HELP and TYPE before every family's samples,
// each family in one group, each series once).

export interface ExposedSample {
  labels: Record<string, string>;
  /** The value exactly as printed (so exact big integers can be compared). */
  value: string;
}

export interface ExposedFamily {
  help: string;
  type: string;
  samples: ExposedSample[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const VALUE = /^(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|NaN|[+-]Inf)$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(text.slice(i));
    if (!m) throw new Error(`bad label at ${JSON.stringify(text.slice(i))} in: ${line}`);
    i += m[0].length;
    let value = "";
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new Error(`unterminated label value in: ${line}`);
      if (c === '"') break;
      if (c === "\n") throw new Error(`raw newline in a label value: ${line}`);
      if (c === "\\") {
        const e = text[i + 1];
        if (e === "\\") value += "\\";
        else if (e === '"') value += '"';
        else if (e === "n") value += "\n";
        else throw new Error(`bad escape \\${e} in: ${line}`);
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    i++; // closing quote
    if (m[1]! in labels) throw new Error(`label ${m[1]} twice in: ${line}`);
    labels[m[1]!] = value;
    if (text[i] === ",") i++;
    else if (i < text.length) throw new Error(`expected ',' after a label in: ${line}`);
  }
  return labels;
}

export function parseExposition(text: string): Map<string, ExposedFamily> {
  if (!text.endsWith("\n")) throw new Error("the exposition must end with a newline");
  const families = new Map<string, ExposedFamily & { typeSeen: boolean; helpSeen: boolean }>();
  const series = new Set<string>();
  const closed = new Set<string>();
  let current: string | undefined;
  const family = (name: string) => {
    if (closed.has(name)) throw new Error(`lines of ${name} are split into two groups`);
    if (current !== name && current !== undefined) closed.add(current);
    current = name;
    let f = families.get(name);
    if (!f) families.set(name, (f = { help: "", type: "untyped", samples: [], typeSeen: false, helpSeen: false }));
    return f;
  };
  for (const line of text.slice(0, -1).split("\n")) {
    const meta = new RegExp(`^# (HELP|TYPE) (${NAME}) (.*)$`).exec(line);
    if (meta) {
      const f = family(meta[2]!);
      if (f.samples.length > 0) throw new Error(`${meta[1]} of ${meta[2]} comes after its samples`);
      if (meta[1] === "HELP") {
        if (f.helpSeen) throw new Error(`two HELP lines for ${meta[2]}`);
        f.helpSeen = true;
        f.help = meta[3]!.replace(/\\(\\|n)/g, (_, e: string) => (e === "n" ? "\n" : "\\"));
      } else {
        if (f.typeSeen) throw new Error(`two TYPE lines for ${meta[2]}`);
        if (!TYPES.has(meta[3]!)) throw new Error(`unknown TYPE ${meta[3]} for ${meta[2]}`);
        f.typeSeen = true;
        f.type = meta[3]!;
      }
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`).exec(line);
    if (!m) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    if (!VALUE.test(m[3]!)) throw new Error(`bad value ${m[3]} in: ${line}`);
    const f = family(m[1]!);
    const labels = parseLabels(m[2] ?? "", line);
    const key = `${m[1]}${JSON.stringify(Object.entries(labels).sort())}`;
    if (series.has(key)) throw new Error(`series repeated: ${line}`);
    series.add(key);
    f.samples.push({ labels, value: m[3]! });
  }
  const out = new Map<string, ExposedFamily>();
  for (const [name, f] of families) out.set(name, { help: f.help, type: f.type, samples: f.samples });
  return out;
}

/** The value of the one sample of `name` whose labels include `labels`. */
export function sampleValue(families: Map<string, ExposedFamily>, name: string, labels: Record<string, string>): string | undefined {
  const hits = (families.get(name)?.samples ?? []).filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${hits.length} samples`);
  return hits[0]?.value;
}
