import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "./sha256.js";

describe("sha256Hex", () => {
  it("equals node:crypto's SHA-256 at every padding boundary and for any text", () => {
    const reference = (text: string) => createHash("sha256").update(text).digest("hex");
    expect(sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    for (let length = 0; length < 200; length++) {
      const text = "/var/lib/ring/é".repeat(20).slice(0, length);
      expect(sha256Hex(text)).toBe(reference(text));
    }
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", maxLength: 300 }),
        (text) => sha256Hex(text) === reference(text),
      ),
    );
  });
});
