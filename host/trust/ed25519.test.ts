import * as ed from "@noble/ed25519";
import { describe, expect, it } from "vitest";
import {
  generateKeyPair,
  hasWebCryptoEd25519,
  PROBE_VECTOR,
  publicKeyOf,
  sign,
  verify,
  verifyNoble,
  verifyWebCrypto,
} from "./ed25519.ts";

// Group order L: adding it to S gives a non-canonical signature RFC 8032 rejects.
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function withS(signature: Uint8Array, add: bigint): Uint8Array {
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(signature[i] as number);
  s += add;
  const out = signature.slice();
  for (let i = 32; i < 64; i++) {
    out[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  return out;
}

describe("ed25519 engines", () => {
  it("this runtime has WebCrypto Ed25519 (Node 20)", async () => {
    expect(await hasWebCryptoEd25519()).toBe(true);
  });

  it("the probe's vector is RFC 8032 TEST 1, as noble makes and checks it", async () => {
    const hex = (bytes: Uint8Array) =>
      Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    const bytes = (text: string) =>
      Uint8Array.from(text.match(/../g) ?? [], (h) => parseInt(h, 16));
    const secret = bytes("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    expect(hex(await publicKeyOf(secret))).toBe(PROBE_VECTOR.publicKey);
    expect(hex(await sign(new Uint8Array(), secret))).toBe(PROBE_VECTOR.signature);
    const [signature, publicKey] = [bytes(PROBE_VECTOR.signature), bytes(PROBE_VECTOR.publicKey)];
    expect(await verifyNoble(signature, new Uint8Array(), publicKey)).toBe(true);
    expect(await verifyWebCrypto(signature, new Uint8Array(), publicKey)).toBe(true);
    const flipped = signature.slice();
    flipped[0]! ^= 1;
    expect(await verifyWebCrypto(flipped, new Uint8Array(), publicKey)).toBe(false);
  });

  it("noble and WebCrypto agree on valid and invalid signatures", async () => {
    const other = await generateKeyPair();
    let checked = 0;
    for (let round = 0; round < 40; round++) {
      const { secretKey, publicKey } = await generateKeyPair();
      const message = crypto.getRandomValues(new Uint8Array(round));
      const signature = await sign(message, secretKey);
      const flipped = signature.slice();
      flipped[round % 64]! ^= 1 << (round % 8);
      const wrongMessage = Uint8Array.of(...message, 0);
      const garbageKey = crypto.getRandomValues(new Uint8Array(32));
      const cases: [Uint8Array, Uint8Array, Uint8Array, boolean][] = [
        [signature, message, publicKey, true],
        [flipped, message, publicKey, false],
        [signature, wrongMessage, publicKey, false],
        [signature, message, other.publicKey, false],
        [withS(signature, L), message, publicKey, false],
        [signature.subarray(0, 63), message, publicKey, false],
        [signature, message, garbageKey, false],
      ];
      for (const [sig, msg, key, expected] of cases) {
        const noble = await verifyNoble(sig, msg, key);
        const native = await verifyWebCrypto(sig, msg, key);
        expect({ noble, native }).toEqual({ noble: expected, native: expected });
        expect(await verify(sig, msg, key)).toBe(expected);
        checked++;
      }
    }
    expect(checked).toBe(280);
  });

  it("verifies against a key imported once, whatever the caller does with its bytes after", async () => {
    const { secretKey, publicKey } = await generateKeyPair();
    const message = new TextEncoder().encode("plughost");
    const signature = await sign(message, secretKey);
    const key = publicKey.slice();
    expect(await verifyWebCrypto(signature, message, key)).toBe(true);
    key.fill(0); // the caller reuses its buffer: the next check is of the key it now holds
    expect(await verifyWebCrypto(signature, message, key)).toBe(false);
    expect(await verifyWebCrypto(signature, message, publicKey)).toBe(true); // from the cache
    const notAPoint = new Uint8Array(32).fill(0xff);
    expect(await verifyWebCrypto(signature, message, notAPoint)).toBe(false);
    expect(await verifyWebCrypto(signature, message, notAPoint)).toBe(false);
  });

  it("signs as the noble reference does (deterministic RFC 8032 signatures)", async () => {
    // RFC 8032 section 7.1, test 1: empty message.
    const secret = Uint8Array.from(
      "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60".match(/../g)!,
      (h) => parseInt(h, 16),
    );
    const expected = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155" +
      "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
    const signature = await sign(new Uint8Array(), secret);
    expect(ed.etc.bytesToHex(signature)).toBe(expected);
  });
});
