// Private temporary directories for tests. Each directory is made with mkdtemp
// and chmod 0700 (the store and the pool loader refuse anything group- or
// world-writable), and is removed by cleanup(), which a test calls from
// afterEach/afterAll so nothing is left behind even when the test fails.
//
//   const tmp = new TempDirs();
//   afterEach(() => tmp.cleanup());
//   const dir = await tmp.make("ipam-");
import { chmod, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Makes one private (0700) directory under the system temp dir. */
export async function makePrivateTempDir(prefix = "spiderpool-test-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o700);
  return dir;
}

/** Makes (recursively) a private 0700 directory at `path` and returns it. */
export async function makePrivateDir(path: string): Promise<string> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await chmod(path, 0o700); // mkdir's mode is filtered by the umask
  return path;
}

/** Tracks the temp directories a test made and removes them all at once. */
export class TempDirs {
  private readonly dirs: string[] = [];

  async make(prefix?: string): Promise<string> {
    const dir = await makePrivateTempDir(prefix);
    this.dirs.push(dir);
    return dir;
  }

  /** Removes every directory made so far; safe to call more than once. */
  async cleanup(): Promise<void> {
    const dirs = this.dirs.splice(0);
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
}
