import { describe, expect, it } from "vitest";
import { utf8Length } from "../../lib/utf8";

describe("utf8Length", () => {
  it("equals Buffer.byteLength, lone surrogates included", () => {
    const cases = ["", "eth0", "ñ", "€", "🚀", "a🚀b", "\ud800", "\udc00x", "\ud800\ud800", "x".repeat(300), "\u0085", "\0"];
    for (const s of cases) expect(utf8Length(s), JSON.stringify(s)).toBe(Buffer.byteLength(s));
  });
});
