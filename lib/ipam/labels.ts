// Kubernetes label selector semantics: all matchLabels and all matchExpressions must hold;
// an empty selector matches everything.

import type { LabelSelector } from "./pool-schema";

export function matchesSelector(selector: LabelSelector, labels: Record<string, string>): boolean {
  const has = (key: string) => Object.prototype.hasOwnProperty.call(labels, key);
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!has(key) || labels[key] !== value) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const present = has(req.key);
    const values = req.values ?? [];
    switch (req.operator) {
      case "In":
        if (!present || !values.includes(labels[req.key] ?? "")) return false;
        break;
      case "NotIn":
        // As in Kubernetes, a missing key satisfies NotIn.
        if (present && values.includes(labels[req.key] ?? "")) return false;
        break;
      case "Exists":
        if (!present) return false;
        break;
      case "DoesNotExist":
        if (present) return false;
        break;
    }
  }
  return true;
}

/** Short text of a selector for error messages. */
export function describeSelector(selector: LabelSelector): string {
  const parts: string[] = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const req of selector.matchExpressions ?? []) {
    if (req.operator === "Exists") parts.push(req.key);
    else if (req.operator === "DoesNotExist") parts.push(`!${req.key}`);
    else parts.push(`${req.key} ${req.operator === "In" ? "in" : "notin"} (${(req.values ?? []).join(",")})`);
  }
  return parts.length ? parts.join(", ") : "<everything>";
}
