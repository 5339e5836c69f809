// The folders of lib/ form layers: no import cycle between two folders, and
// the bottom (sys, netlink, net) never imports lib/cni, whose error mapping
// (toCniError) gives their errors CNI codes at the plugin boundary.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const LIB = resolve(__dirname, "../../lib");

/** lib/ folder of a file: "sys" for lib/sys/fs.ts, "store" for lib/store/etcd/keys.ts, "." for lib/text.ts. */
const folderOf = (file: string): string => {
  const parts = relative(LIB, file).split("/");
  return parts.length > 1 ? parts[0]! : ".";
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** `import ... from "./x"`, `export ... from "../y"`, `import("../z")`: the relative targets of a source text. */
function importTargets(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g)) out.push(m[1]!);
  return out;
}

/** Folder -> folders it imports (type-only imports count: they tie the layers as much). */
function folderGraph(files: { path: string; source: string }[]): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const { path, source } of files) {
    const from = folderOf(path);
    for (const target of importTargets(source)) {
      const to = folderOf(resolve(dirname(path), target));
      if (to === from) continue;
      if (!graph.has(from)) graph.set(from, new Map());
      // One example file per edge, for the failure message.
      if (!graph.get(from)!.has(to)) graph.get(from)!.set(to, relative(LIB, path));
    }
  }
  return graph;
}

/** Every cycle's folders, as "a -> b -> a" with the file behind each edge. */
function folderCycles(graph: Map<string, Map<string, string>>): string[] {
  const cycles: string[] = [];
  const seen = new Set<string>();
  const walk = (node: string, path: string[]) => {
    for (const [next, file] of graph.get(node) ?? []) {
      const at = path.indexOf(next);
      if (at >= 0) {
        const loop = [...path.slice(at), next];
        const key = [...loop.slice(0, -1)].sort().join(",");
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(`${loop.join(" -> ")} (${node} -> ${next} in lib/${file})`);
        }
      } else {
        walk(next, [...path, next]);
      }
    }
  };
  for (const node of graph.keys()) walk(node, [node]);
  return cycles;
}

const libFiles = () => sourceFiles(LIB).map((path) => ({ path, source: readFileSync(path, "utf8") }));

describe("lib/ layers", () => {
  it("has no import cycle between folders", () => {
    expect(folderCycles(folderGraph(libFiles()))).toEqual([]);
  });

  it("keeps lib/sys, lib/netlink and lib/net below lib/cni: they throw their own errors", () => {
    const graph = folderGraph(libFiles());
    const offenders = ["sys", "netlink", "net"].filter((f) => graph.get(f)?.has("cni")).map((f) => `${f} (lib/${graph.get(f)!.get("cni")})`);
    expect(offenders).toEqual([]);
  });

  it("finds a cycle and a lower layer importing lib/cni when there is one (the check itself)", () => {
    const graph = folderGraph([
      { path: join(LIB, "sys/a.ts"), source: 'import { CniError } from "../cni/errors";' },
      { path: join(LIB, "cni/b.ts"), source: 'import type { X } from "../sys/a";\nconst m = await import("../store/c");' },
      { path: join(LIB, "store/c.ts"), source: 'export { y } from "./d";' },
    ]);
    expect(graph.get("sys")?.has("cni")).toBe(true);
    expect(graph.get("cni")?.has("store")).toBe(true);
    expect(graph.get("store")).toBeUndefined(); // "./d" stays inside lib/store
    expect(folderCycles(graph)).toEqual(["sys -> cni -> sys (cni -> sys in lib/cni/b.ts)"]);
  });
});
