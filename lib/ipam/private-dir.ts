// A directory the plugin keeps or reads state in (dataDir, the store's
// subdirectories, poolDir, the pool cache) must be the plugin's own: another
// user who could write to it, or replace a directory on its path, could add
// or remove claims, or pools.
import { lstatPath, type FileStat } from "../sys/fs";
import { untrustedComponent } from "../sys/trusted-path";
import { CniError, ErrorCode, invalidConfig } from "../cni/errors";

/** Code 7 unless `dir` is a real directory owned by this user and not writable by group or others. */
export function checkPrivateDir(dir: string, what: string): void {
  let st: FileStat;
  try {
    st = lstatPath(dir);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new CniError(ErrorCode.IoFailure, `store: cannot inspect ${what} ${dir}: ${err.message}`, err.code ?? "");
  }
  if (st.isSymbolicLink()) throw invalidConfig(`${what} ${dir} is a symbolic link; refusing to use it (name the real directory)`);
  if (!st.isDirectory()) throw invalidConfig(`${what} ${dir} is not a directory`);
  if (typeof process.getuid === "function" && st.uid !== process.getuid()) {
    throw invalidConfig(`${what} ${dir} is owned by uid ${st.uid}, not by this user; refusing to use it`);
  }
  if (st.mode & 0o022) {
    throw invalidConfig(`${what} ${dir} is writable by group or others (mode ${(st.mode & 0o777).toString(8)}); refusing to use it (chmod go-w)`);
  }
}

/**
 * A directory the plugin keeps or reads state in, checked from "/": no
 * component another user could replace (lib/sys/trusted-path.ts). Code 7
 * naming the component. Checked before anything is created or read there:
 * mkdir and open would follow a replaced component.
 */
export function checkTrustedPath(dir: string, what: string): void {
  let problem;
  try {
    problem = untrustedComponent(dir);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new CniError(ErrorCode.IoFailure, `cannot inspect the path of ${what} ${dir}: ${err.message}`, err.code ?? "");
  }
  if (problem) {
    throw invalidConfig(
      `${what} ${dir} is not safe to use: ${problem.path} on its path is ${problem.why}, so another user could move it elsewhere; ` +
        "use a path whose every directory belongs to root (or this user) and is not writable by others",
    );
  }
}
