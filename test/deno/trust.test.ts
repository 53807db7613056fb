/**
 * The signing core on Deno: WebCrypto Ed25519 agrees with @noble/ed25519,
 * keys are written 0600, and sign/verify/tamper behave as on Node.
 */
import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { appendCustomSection, parseModule, SIGNATURE_SECTION } from "../../host/artifact/mod.ts";
import { HostError } from "../../host/errors.ts";
import {
  generateKeyPair,
  hasWebCryptoEd25519,
  sign,
  signPlugin,
  verifyNoble,
  verifyPlugin,
  verifyWebCrypto,
} from "../../host/trust/mod.ts";
import { buildModule } from "../artifact/fixture.ts";
import { architectureExample } from "../artifact/manifest-example.ts";
import { signingSetup } from "../artifact/signing-fixture.ts";

const exportsOfExample = ["greet", "on_load", "on_event", "on_shutdown"];

Deno.test("Deno has WebCrypto Ed25519 and it agrees with noble", async () => {
  assert.equal(await hasWebCryptoEd25519(), true);
  for (let round = 0; round < 20; round++) {
    const { secretKey, publicKey } = await generateKeyPair();
    const message = crypto.getRandomValues(new Uint8Array(32));
    const signature = await sign(message, secretKey);
    const bad = signature.slice();
    bad[round]! ^= 0x10;
    for (const [sig, expected] of [[signature, true], [bad, false]] as const) {
      assert.equal(await verifyNoble(sig, message, publicKey), expected);
      assert.equal(await verifyWebCrypto(sig, message, publicKey), expected);
    }
  }
});

Deno.test("sign, verify, and reject tampering on Deno", async () => {
  const setup = await signingSetup();
  assert.equal((await stat(`${setup.dir}/keys/alice.key`)).mode & 0o777, 0o600);
  const wasm = buildModule({ exports: exportsOfExample });
  const signed =
    (await signPlugin(wasm, setup.keys.alice, { manifest: JSON.stringify(architectureExample) }))
      .wasm;
  const twice = (await signPlugin(signed, setup.keys.bob)).wasm;
  const plugin = await verifyPlugin(twice, setup.trust);
  assert.deepEqual(plugin.signers.map((s) => s.label), ["alice", "bob"]);
  assert.equal(plugin.manifest.id, "example.hello");

  const reason = async (bytes: Uint8Array) => {
    try {
      await verifyPlugin(bytes, setup.trust);
      return "ok";
    } catch (error) {
      assert.ok(error instanceof HostError);
      return String(error.details?.["reason"]);
    }
  };
  const code = parseModule(signed).sections.find((s) => s.id === 10)!;
  const flipped = signed.slice();
  flipped[code.end - 2]! ^= 1;
  assert.equal(await reason(flipped), "tampered");
  assert.equal(
    await reason(appendCustomSection(signed, SIGNATURE_SECTION, new Uint8Array([1]))),
    "malformed",
  );
  const mallory =
    (await signPlugin(wasm, setup.keys.mallory, { manifest: JSON.stringify(architectureExample) }))
      .wasm;
  assert.equal(await reason(mallory), "unknown_key");
});
