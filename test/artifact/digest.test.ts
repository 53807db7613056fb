// The host's one SHA-256 helper (host/artifact/digest.ts): its forms agree with each other and
// with the FIPS 180-2 test vector, for bytes and for text.
import { describe, expect, it } from "vitest";
import {
  sha256,
  sha256Hex,
  sha256HexSync,
  sha256Id,
  sha256Sync,
  toHex,
} from "../../host/artifact/mod.ts";

const ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

describe("sha256 helpers", () => {
  it("give the same digest in every form, for text and its UTF-8 bytes", async () => {
    const bytes = new TextEncoder().encode("abc");
    expect(toHex(await sha256("abc"))).toBe(ABC);
    expect(toHex(await sha256(bytes))).toBe(ABC);
    expect(await sha256Hex(bytes)).toBe(ABC);
    expect(toHex(sha256Sync(bytes))).toBe(ABC);
    expect(sha256HexSync("abc")).toBe(ABC);
    expect(sha256Id(bytes)).toBe(`sha256:${ABC}`);
  });

  it("hash non-ASCII text as UTF-8", async () => {
    const text = "\u00e9\u{1F389}";
    expect(sha256HexSync(text)).toBe(await sha256Hex(new TextEncoder().encode(text)));
  });
});
