// Splits the text of one pool file into pool documents. The YAML parser is injected so
// the plugin binary can use Bun's native YAML while tests use the `yaml` package.

import { invalidConfig } from "../cni/errors";
import { nestingProblem } from "../nesting";

const LIST_KINDS = new Set(["List", "SpiderIPPoolList"]);

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

function describeValue(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  return `a ${typeof value}`;
}

/** Unwraps arrays and Kubernetes lists into documents; empty documents are skipped. */
function collect(value: unknown, where: string, source: string, out: unknown[]): void {
  if (value === null || value === undefined) return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => collect(item, `${where}[${i}]`, source, out));
    return;
  }
  if (typeof value !== "object") {
    throw invalidConfig(`${source}: ${where} is ${describeValue(value)}, expected a SpiderIPPool object`);
  }
  const kind = (value as { kind?: unknown }).kind;
  if (typeof kind === "string" && LIST_KINDS.has(kind)) {
    const items = (value as { items?: unknown }).items;
    if (items === undefined || items === null) return;
    if (!Array.isArray(items)) throw invalidConfig(`${source}: ${where}.items of kind ${kind} must be an array`);
    items.forEach((item, i) => {
      if (item === null || item === undefined) return;
      collect(item, `${where}.items[${i}]`, source, out);
    });
    return;
  }
  out.push(value);
}

function looksLikeJson(text: string): boolean {
  const first = text.trimStart()[0];
  return first === "{" || first === "[";
}

/**
 * Returns the pool documents a file holds: one document, a multi-document YAML
 * stream, a JSON object, a JSON array, or a List / SpiderIPPoolList with items.
 * Parse errors are code 7 naming the file.
 */
export function parsePoolText(text: string, source: string, parseYamlAll: (text: string) => unknown[]): unknown[] {
  let documents: unknown[];
  if (looksLikeJson(text)) {
    try {
      documents = [JSON.parse(text)];
    } catch (jsonErr) {
      // YAML flow style also starts with "{" or "["; give YAML a chance before failing.
      try {
        documents = parseYamlAll(text);
      } catch {
        throw invalidConfig(`${source}: cannot parse pool file as JSON: ${errorText(jsonErr)}`);
      }
    }
  } else {
    try {
      documents = parseYamlAll(text);
    } catch (err) {
      throw invalidConfig(`${source}: cannot parse pool file as YAML: ${errorText(err)}`);
    }
  }
  // Bounded before anything recursive (collect, the schema, error messages) walks them.
  documents.forEach((doc, i) => {
    const tooDeep = nestingProblem(doc);
    if (tooDeep) throw invalidConfig(`${source}: document ${i + 1} ${tooDeep}`);
  });
  const out: unknown[] = [];
  documents.forEach((doc, i) => collect(doc, `document ${i + 1}`, source, out));
  return out;
}
