// lib/sys/fs.ts's "if it exists" reads, which tell "not there" by a return
// value instead of an exception (the common case of a plugin call): missing
// and through-a-file paths give null, other failures still throw.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { probe, Scratch } from "../fixtures/net/scaffold";

const scratch = new Scratch();
afterAll(() => scratch.cleanup());

it("reads and lists what is there, and gives null for what is not", () => {
  const dir = scratch.file("tree");
  mkdirSync(join(dir, "sub"), { recursive: true });
  writeFileSync(join(dir, "file"), "text\n");
  writeFileSync(join(dir, "sub", "b"), "");
  writeFileSync(join(dir, "sub", "a"), "");
  const paths = [join(dir, "file"), join(dir, "sub"), join(dir, "missing"), join(dir, "file", "below-a-file")];
  const out = probe("if-exists", ...paths);

  expect(out.read[0]).toEqual({ ok: true, value: "text\n" });
  // A directory is not a regular file: an error, not "missing".
  expect(out.read[1]).toMatchObject({ ok: false, error: { code: "ENOTREG" } });
  expect(out.read[2]).toEqual({ ok: true, value: null });
  expect(out.read[3]).toEqual({ ok: true, value: null });

  expect(out.list[0]).toEqual({ ok: true, value: null }); // a file is not a directory to list
  expect(out.list[1]).toEqual({ ok: true, value: ["a", "b"] });
  expect(out.list[2]).toEqual({ ok: true, value: null });
  expect(out.list[3]).toEqual({ ok: true, value: null });
});
