// Multi-document YAML. Inside the compiled plugins Bun's native parser is used
// (no JS parser to load at start-up); under Node (tests, scripts) the `yaml`
// package is loaded on first use. Documents nesting deeper than MAX_NESTING
// are refused here, before any caller's recursive code walks them.
import { createRequire } from "node:module";
import { MAX_NESTING, nestingProblem } from "./nesting";

interface BunYaml {
  parse(text: string): unknown;
}

const DOC_MARKER = /^---[ \t]*(?:#.*)?$/m;

function bunYaml(): BunYaml | undefined {
  return (globalThis as { Bun?: { YAML?: BunYaml } }).Bun?.YAML;
}

/** Returns the documents of a YAML stream; empty documents are dropped. Throws on a syntax error or deep nesting. */
export function parseYamlAll(text: string): unknown[] {
  let documents: unknown[];
  try {
    documents = parseDocuments(text);
  } catch (e) {
    // The parsers recurse: input nested thousands deep overflows the stack.
    if (e instanceof RangeError) throw new Error(`YAML nests too deeply to parse (the limit is ${MAX_NESTING} levels)`);
    throw e;
  }
  documents.forEach((doc, i) => {
    const tooDeep = nestingProblem(doc);
    if (tooDeep) throw new Error(`document ${i + 1} ${tooDeep}`);
  });
  return documents;
}

function parseDocuments(text: string): unknown[] {
  const native = bunYaml();
  if (native) {
    // Bun returns an array both for several documents and for one document
    // that is a list; splitting first makes each parse exactly one document.
    return text
      .split(DOC_MARKER)
      .map((chunk) => native.parse(chunk))
      .filter((d) => d !== null && d !== undefined);
  }
  const require = createRequire(import.meta.url);
  const yaml = require("yaml") as typeof import("yaml");
  const docs = yaml.parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  const out: unknown[] = [];
  for (const doc of list) {
    if ("errors" in doc && doc.errors.length > 0) throw new Error(doc.errors[0]!.message);
    const value = doc.toJS();
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}
