// Whether a path leads where it says, whoever else is on the node: checked as
// walking it from "/" with openat(O_NOFOLLOW) one component at a time would,
// with lstat. A path is only as safe as every directory on the way: whoever
// can rename or replace one entry of it (by owning that entry, or by writing
// a directory that holds it) can move everything below it elsewhere.
//
// The rule, for each component on the way to the last one:
//   - it is owned by root or by this user (a symbolic link too: its owner can
//     replace it in a sticky directory);
//   - a directory passed through is not writable by group or others, unless
//     it has the sticky bit (like /tmp: then only an entry's owner, the
//     directory's owner or root can rename or remove the entry, and the entry
//     itself must be owned by root or this user, above);
//   - a symbolic link is followed (at most 40), and its target walked by the
//     same rule, from "/" or from the link's directory.
// The last component is the caller's to check (a private directory of its
// own, say); a component that does not exist yet ends the walk (the caller
// creates it, below a directory that passed).
import { fileKind, lstatIfExists, lstatPath, readLink, type FileStat } from "./fs";
import { dirName, joinPath } from "./path";

export interface UntrustedComponent {
  /** The component as reached (symbolic links before it resolved). */
  path: string;
  why: string;
}

const MAX_LINKS = 40;

const componentsOf = (path: string): string[] => path.split("/").filter((c) => c !== "" && c !== ".");

/** The first component on the way to absolute `path` that another user could replace, or undefined. */
export function untrustedComponent(path: string, uid = process.getuid?.() ?? 0): UntrustedComponent | undefined {
  const trustedOwner = (owner: number) => owner === 0 || owner === uid;
  const passable = (dir: string, st: FileStat): UntrustedComponent | undefined => {
    if (!trustedOwner(st.uid)) return { path: dir, why: `owned by uid ${st.uid}, neither root nor this user` };
    if (st.mode & 0o022 && !(st.mode & 0o1000)) {
      return { path: dir, why: `writable by group or others without the sticky bit (mode ${(st.mode & 0o7777).toString(8)})` };
    }
    return undefined;
  };
  const rootProblem = passable("/", lstatPath("/"));
  if (rootProblem) return rootProblem;
  let reached = "/";
  let pending = componentsOf(path);
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === "..") {
      reached = dirName(reached); // already checked on the way down
      continue;
    }
    const here = joinPath(reached, name);
    const st = lstatIfExists(here);
    if (!st) return undefined;
    if (!trustedOwner(st.uid)) return { path: here, why: `owned by uid ${st.uid}, neither root nor this user` };
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) return { path: here, why: "too many levels of symbolic links" };
      const target = readLink(here);
      if (target.startsWith("/")) reached = "/";
      pending = [...componentsOf(target), ...pending];
      continue;
    }
    if (pending.length === 0) return undefined;
    if (!st.isDirectory()) return { path: here, why: `a ${fileKind(st.mode)}, not a directory` };
    const problem = passable(here, st);
    if (problem) return problem;
    reached = here;
  }
  return undefined;
}
