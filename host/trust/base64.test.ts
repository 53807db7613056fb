/**
 * Canonical base64 (base64.ts): every byte string round-trips, and no other
 * spelling of the same bytes is accepted (signatures and keys have one text).
 * @module
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromBase64, toBase64 } from "./base64.ts";

describe("base64", () => {
  it("round-trips any bytes, views into larger buffers included", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(8), (bytes, offset) => {
        const backing = new Uint8Array(offset + bytes.length + 3);
        backing.set(bytes, offset);
        const view = backing.subarray(offset, offset + bytes.length);
        const text = toBase64(view);
        expect(text).toBe(btoa(String.fromCharCode(...bytes)));
        const decoded = fromBase64(text);
        expect(decoded).toBeInstanceOf(Uint8Array);
        expect(decoded?.constructor).toBe(Uint8Array);
        expect(Array.from(decoded!)).toEqual(Array.from(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it("refuses every text that is not the one canonical spelling", () => {
    for (
      const text of [
        "AB==", // padding bits set: the canonical form of those bytes is "AA=="
        "QR==",
        "QUJ=",
        "QQ", // padding missing
        "QQ=",
        "Q===",
        "QQ==QQ==", // padding inside
        " QQ==",
        "QQ==\n",
        "Q-_=", // base64url alphabet
        "QUJD\0",
      ]
    ) {
      expect(fromBase64(text), JSON.stringify(text)).toBeUndefined();
    }
    expect(Array.from(fromBase64("")!)).toEqual([]);
    expect(Array.from(fromBase64("QUJD")!)).toEqual([65, 66, 67]);
  });

  it("accepts a text exactly when it is what toBase64 writes for its bytes", () => {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...alphabet), { maxLength: 16 }).map((a) => a.join("")),
        (text) => {
          const decoded = fromBase64(text);
          if (decoded !== undefined) expect(toBase64(decoded)).toBe(text);
          else {
            // Refused: either atob refuses it too, or it is a non-canonical spelling.
            let canonical = false;
            try {
              const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
              canonical = toBase64(bytes) === text;
            } catch {
              canonical = false;
            }
            expect(canonical).toBe(false);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
