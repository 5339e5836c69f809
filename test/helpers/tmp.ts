// Private temporary directories for tests. Each directory is made with mkdtemp
// and chmod 0700 (the store and the pool loader refuse anything group- or
// world-writable), and is removed by cleanup(), which a test calls from
// afterEach/afterAll so nothing is left behind even when the test fails.
//
//   const tmp = new TempDirs();
//   afterEach(() => tmp.cleanup());
//   const dir = await tmp.make("ipam-");
import { chmod, chown, mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
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

/** uid and gid of "nobody": another user, for tests of what the plugins refuse. */
export const NOBODY = 65534;

/**
 * root/foreign (owned by nobody) holding a link to root/real (0700, ours):
 * a path through `via` (foreign/link) leads into `real`, by a directory
 * another user could change.
 */
export async function foreignDetour(tmp: TempDirs): Promise<{ real: string; foreign: string; via: string }> {
  const root = await tmp.make("spiderpool-trust-");
  const real = await makePrivateDir(join(root, "real"));
  const foreign = join(root, "foreign");
  await mkdir(foreign, { mode: 0o755 });
  await chown(foreign, NOBODY, NOBODY);
  await symlink(real, join(foreign, "link"));
  return { real, foreign, via: join(foreign, "link") };
}
