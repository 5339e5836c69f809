// A small flag parser for the pool CLI: --name value, --name=value, -o value.
export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string | true>;
}

const BOOLEAN = new Set(["all-nodes", "help", "h", "version", "dry-run", "imds", "conflicts"]);

export function parseArgs(argv: string[]): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      positional.push(...argv.slice(i + 1));
      break;
    }
    const m = /^--?([A-Za-z][\w-]*)(?:=(.*))?$/.exec(a);
    if (!m) {
      positional.push(a);
      continue;
    }
    const name = m[1]!;
    if (m[2] !== undefined) flags.set(name, m[2]);
    else if (BOOLEAN.has(name)) flags.set(name, true);
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new Error(`option --${name} needs a value`);
      flags.set(name, next);
      i++;
    }
  }
  return { positional, flags };
}

export function flag(args: ParsedArgs, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = args.flags.get(n);
    if (typeof v === "string") return v;
  }
  return undefined;
}
