// What the side channel added on the node for one attachment, kept under
// stateDir (on /run: it vanishes at reboot together with the routes and
// rules it describes). Written before the node is changed, so a DEL after a
// crash still knows what to remove; DEL removes exactly what is listed.
import { listDir, makeDirs, readText, removeDir, unlinkQuietly } from "../sys/fs";
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

const dirOf = (stateDir: string, containerID: string) => join(stateDir, safeName(containerID, "container ID"));
const fileOf = (stateDir: string, containerID: string, ifname: string) =>
  join(dirOf(stateDir, containerID), `${safeName(ifname, "interface name")}.json`);

export function writeState(stateDir: string, state: SideChannelState): void {
  makeDirs(dirOf(stateDir, state.containerID), 0o700);
  writeFileAtomic(fileOf(stateDir, state.containerID, state.ifname), JSON.stringify(state) + "\n", { durable: false });
}

export function readState(stateDir: string, containerID: string, ifname: string): SideChannelState | undefined {
  try {
    return JSON.parse(readText(fileOf(stateDir, containerID, ifname))) as SideChannelState;
  } catch {
    return undefined; // never set up, or already removed
  }
}

/** Removes one attachment's record; true when no other interface of the container has one. */
export function removeState(stateDir: string, containerID: string, ifname: string): boolean {
  unlinkQuietly(fileOf(stateDir, containerID, ifname)); // or already gone
  const dir = dirOf(stateDir, containerID);
  let left: string[] = [];
  try {
    left = listDir(dir).filter((n) => n.endsWith(".json"));
  } catch {
    return true;
  }
  if (left.length > 0) return false;
  try {
    removeDir(dir);
  } catch {
    /* raced with an ADD of another interface */
  }
  return true;
}
