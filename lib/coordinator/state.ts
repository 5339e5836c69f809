// What the side channel added on the node for one attachment, kept under
// stateDir (on /run: it vanishes at reboot together with the routes and
// rules it describes). Written before the node is changed, so a DEL after a
// crash still knows what to remove; DEL removes exactly what is listed.
//
// A record names the routes and rules DEL deletes, so stateDir gets dataDir's
// rules: its path checked from "/" (lib/sys/trusted-path.ts), a private
// directory of this user's, container directories never followed through a
// link, records opened without following links or blocking on a FIFO.
import { CniError, ErrorCode } from "../cni/errors";
import { checkPrivateDir, checkTrustedPath } from "../ipam/private-dir";
import { entryExists, fileKind, listDirIfExists, lstatIfExists, makeDirIfMissing, makeDirs, O_NOFOLLOW, readTextIfExists, removeDir, unlinkQuietly } from "../sys/fs";
import { joinPath as join } from "../sys/path";
import { writeFileAtomic } from "../sys/atomic";
import { safeName } from "../store/layout";
import type { SideChannelRoute, SideChannelRule } from "./plan";

export interface SideChannelState {
  containerID: string;
  ifname: string;
  hostVeth: string;
  hostRoutes: SideChannelRoute[];
  hostRules: SideChannelRule[];
}

const WHAT = "coordinator.stateDir";

const dirOf = (stateDir: string, containerID: string) => join(stateDir, safeName(containerID, "container ID"));
const fileOf = (stateDir: string, containerID: string, ifname: string) =>
  join(dirOf(stateDir, containerID), `${safeName(ifname, "interface name")}.json`);

/** stateDir checked (and created when asked); false when it is not there. */
function stateDirReady(stateDir: string, create: boolean): boolean {
  checkTrustedPath(stateDir, WHAT);
  if (create) makeDirs(stateDir, 0o700);
  else if (!entryExists(stateDir)) return false;
  checkPrivateDir(stateDir, WHAT);
  return true;
}

/** The container's directory, or undefined when missing; code 5 naming it when something else (a link) is in its place. */
function containerDir(stateDir: string, containerID: string): string | undefined {
  const dir = dirOf(stateDir, containerID);
  const st = lstatIfExists(dir);
  if (!st) return undefined;
  if (st.isDirectory()) return dir;
  throw new CniError(ErrorCode.IoFailure, `${dir} is a ${fileKind(st.mode)}, not a directory; refusing to use it (the plugin never writes one there: remove it)`);
}

export function writeState(stateDir: string, state: SideChannelState): void {
  stateDirReady(stateDir, true);
  makeDirIfMissing(dirOf(stateDir, state.containerID), 0o700);
  containerDir(stateDir, state.containerID);
  writeFileAtomic(fileOf(stateDir, state.containerID, state.ifname), JSON.stringify(state) + "\n", { durable: false });
}

/** The record, or undefined when there is none (never set up, already removed, or not a regular file). */
export function readState(stateDir: string, containerID: string, ifname: string): SideChannelState | undefined {
  if (!stateDirReady(stateDir, false) || !containerDir(stateDir, containerID)) return undefined;
  try {
    const text = readTextIfExists(fileOf(stateDir, containerID, ifname), O_NOFOLLOW);
    return text === undefined ? undefined : (JSON.parse(text) as SideChannelState);
  } catch {
    return undefined; // a FIFO, a link or garbage in its place: nothing to trust
  }
}

/** Removes one attachment's record; true when no other interface of the container has one. */
export function removeState(stateDir: string, containerID: string, ifname: string): boolean {
  if (!stateDirReady(stateDir, false)) return true;
  const dir = containerDir(stateDir, containerID);
  if (!dir) return true;
  unlinkQuietly(fileOf(stateDir, containerID, ifname)); // or already gone
  const left = (listDirIfExists(dir, O_NOFOLLOW) ?? []).filter((n) => n.endsWith(".json"));
  if (left.length > 0) return false;
  try {
    removeDir(dir);
  } catch {
    /* raced with an ADD of another interface */
  }
  return true;
}
