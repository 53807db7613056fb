/**
 * Ed25519 signature verification, @noble/ed25519 vs the runtime's WebCrypto
 * Ed25519 (host/trust/ed25519.ts uses the native one when present):
 * verifications/s on a 64-byte message (what the host verifies per plugin:
 * the cost is the curve math) and MiB/s on a 1 MiB message (the SHA-512 over
 * the message dominates), interleaved per round; then the whole check of a
 * signed plugin (verifyPlugin: sections, digest, manifest, signature).
 * Run: node scripts/run-ts.mjs test/bench/signatures.bench.ts [--quick]
 * @module
 */
import {
  generateKeyPair,
  hasWebCryptoEd25519,
  sign,
  verifyNoble,
  verifyPlugin,
  verifyWebCrypto,
} from "../../host/trust/mod.ts";
import { newKey, signedFirstParty, trustStoreOf } from "../helpers/signing.ts";
import { calibrate, usPer } from "./_sides.ts";
import { interleave, quick, ratios, Reporter } from "./_stats.ts";

const rounds = quick ? 5 : 11;
const sampleMs = quick ? 60 : 150;
const report = new Reporter("signatures");
if (!(await hasWebCryptoEd25519())) throw new Error("this runtime has no WebCrypto Ed25519");
const { secretKey, publicKey } = await generateKeyPair();

for (const size of [{ id: "64b", bytes: 64 }, { id: "1m", bytes: 1024 * 1024 }]) {
  const message = crypto.getRandomValues(new Uint8Array(Math.min(size.bytes, 65536)));
  const big = new Uint8Array(size.bytes);
  for (let i = 0; i < big.length; i += message.length) {
    big.set(message.subarray(0, big.length - i), i);
  }
  const signature = await sign(big, secretKey);
  const check = (ok: boolean) => {
    if (!ok) throw new Error("a valid signature did not verify");
  };
  const noble = async () => check(await verifyNoble(signature, big, publicKey));
  const native = async () => check(await verifyWebCrypto(signature, big, publicKey));
  const counts = {
    noble: await calibrate(noble, sampleMs),
    native: await calibrate(native, sampleMs),
  };
  const us = await interleave(rounds, {
    noble: () => usPer(counts.noble, noble),
    native: () => usPer(counts.native, native),
  });
  if (size.bytes === 64) {
    const perS = (xs: number[]) => xs.map((x) => 1e6 / x);
    report.figure(
      "sig.64b.noble",
      "64 B message: noble verifications/s",
      "/s",
      perS(us.noble!),
      true,
    );
    report.figure(
      "sig.64b.native",
      "64 B message: WebCrypto verifications/s",
      "/s",
      perS(us.native!),
      true,
    );
  } else {
    const mib = (xs: number[]) => xs.map((x) => 1e6 / x);
    report.figure("sig.1m.noble", "1 MiB message: noble", "MiB/s", mib(us.noble!), true);
    report.figure("sig.1m.native", "1 MiB message: WebCrypto", "MiB/s", mib(us.native!), true);
  }
  report.figure(
    `sig.${size.id}.native_speedup`,
    `${size.id === "64b" ? "64 B" : "1 MiB"}: WebCrypto speed-up over noble (per round)`,
    "x",
    ratios(us.noble!, us.native!),
  );
}

// The whole check of a real signed plugin, as runtime.load does it first.
const key = await newKey();
const trust = trustStoreOf(key);
const plugin = await signedFirstParty("hello", key);
const verify = async () => {
  await verifyPlugin(plugin, trust);
};
const n = await calibrate(verify, sampleMs);
const samples: number[] = [];
for (let r = 0; r < rounds; r++) samples.push(await usPer(n, verify));
report.figure(
  "sig.plugin.per_s",
  `verifyPlugin of hello.wasm (${plugin.length} B): plugins/s`,
  "/s",
  samples.map((x) => 1e6 / x),
  true,
);
report.figure(
  "sig.plugin.mib_s",
  "verifyPlugin of hello.wasm: MiB/s",
  "MiB/s",
  samples.map((x) => plugin.length / (1024 * 1024) / (x / 1e6)),
  true,
);
report.done();
