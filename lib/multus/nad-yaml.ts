// Writes NetworkAttachmentDefinitions as YAML for `kubectl apply -f`. The shape
// is fixed, so a few lines of emitter do (no YAML library at run time): names
// are DNS-1123 (plain scalars), annotations are JSON-quoted (a JSON string is
// a YAML double-quoted scalar), and spec.config is a literal block so the
// network configuration stays readable.
import type { NetworkAttachmentDefinition } from "./spidermultus";

// Characters YAML does not allow unescaped (C1 controls, DEL) or that YAML 1.1
// readers take for line breaks; JSON.stringify leaves them as they are.
const YAML_UNSAFE = /[\u007f-\u009f\u2028\u2029\ufeff]/g;
const escapeUnsafe = (text: string) => text.replace(YAML_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
const quoted = (text: string) => escapeUnsafe(JSON.stringify(text));

export function nadToYaml(nad: NetworkAttachmentDefinition): string {
  const lines = [`apiVersion: ${nad.apiVersion}`, `kind: ${nad.kind}`, "metadata:", `  name: ${nad.metadata.name}`];
  if (nad.metadata.namespace) lines.push(`  namespace: ${nad.metadata.namespace}`);
  const annotations = Object.entries(nad.metadata.annotations ?? {});
  if (annotations.length > 0) {
    lines.push("  annotations:");
    for (const [key, value] of annotations) lines.push(`    ${quoted(key)}: ${quoted(value)}`);
  }
  // The config is JSON.stringify output: no trailing spaces, no raw line
  // breaks inside strings, so a literal block holds it exactly.
  lines.push("spec:", "  config: |-", ...escapeUnsafe(nad.spec.config).split("\n").map((l) => `    ${l}`));
  return lines.join("\n") + "\n";
}

/** Several objects as one YAML stream. */
export const nadsToYaml = (nads: NetworkAttachmentDefinition[]) => nads.map(nadToYaml).join("---\n");
