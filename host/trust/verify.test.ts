import { stat } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { architectureExample } from "../../test/artifact/manifest-example.ts";
import { buildModule } from "../../test/artifact/fixture.ts";
import { type SigningSetup, signingSetup } from "../../test/artifact/signing-fixture.ts";
import {
  appendCustomSection,
  customSections,
  filterSections,
  MANIFEST_SECTION,
  parseModule,
  readCustomSections,
  setCustomSection,
  SIGNATURE_SECTION,
} from "../artifact/mod.ts";
import { HostError } from "../errors.ts";
import {
  checkPlugin,
  fromBase64,
  loadTrustStore,
  parseSignatureSection,
  signPlugin,
  toBase64,
  verifyPlugin,
} from "./mod.ts";
import { encodeSignatureSection } from "./signatures.ts";
import { emptyTrustStore } from "./store.ts";

const exportsOfExample = ["greet", "on_load", "on_event", "on_shutdown"];
const manifestText = JSON.stringify(architectureExample);
let setup: SigningSetup;
let signed: Uint8Array;

beforeAll(async () => {
  setup = await signingSetup();
  signed = (await signPlugin(buildModule({ exports: exportsOfExample }), setup.keys.alice, {
    manifest: manifestText,
  })).wasm;
});

async function reasonOf(wasm: Uint8Array, trust = setup.trust, now?: Date): Promise<string> {
  try {
    await verifyPlugin(wasm, trust, now === undefined ? {} : { now });
    return "ok";
  } catch (error) {
    if (error instanceof HostError && error.code === "verification_failed") {
      return String(error.details?.["reason"]);
    }
    if (error instanceof HostError && error.code === "invalid_input") return "not_wasm";
    throw error;
  }
}

/** Index of the byte at `offset` into the data of the first custom section called `name`. */
function offsetIn(wasm: Uint8Array, name: string, offset: number): number {
  const section = parseModule(wasm).sections.find((s) => s.name === name)!;
  return section.dataStart! + offset;
}

function flip(wasm: Uint8Array, at: number, mask = 0x01): Uint8Array {
  const out = wasm.slice();
  out[at]! ^= mask;
  return out;
}

describe("sign and verify", () => {
  it("round-trips: manifest, digest, signer", async () => {
    const plugin = await verifyPlugin(signed, setup.trust);
    expect(plugin.manifest).toEqual(architectureExample);
    expect(plugin.signers).toEqual([{ keyId: setup.keys.alice.keyId, label: "alice" }]);
    expect(plugin.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(plugin.moduleDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(plugin.warnings).toEqual([]);
    expect(plugin.wasm).toBe(signed);
    expect(() => new WebAssembly.Module(signed as Uint8Array<ArrayBuffer>)).not.toThrow();
  });

  it("keeps the first signature valid when a second is added", async () => {
    const twice = (await signPlugin(signed, setup.keys.bob)).wasm;
    const report = await checkPlugin(twice, setup.trust);
    expect(report.ok).toBe(true);
    expect(report.signatures.map((s) => [s.keyId, s.valid, s.trusted])).toEqual([
      [setup.keys.alice.keyId, true, true],
      [setup.keys.bob.keyId, true, true],
    ]);
    // Without alice in the store, bob's signature alone still verifies.
    const bobOnly = {
      ...setup.trust,
      keys: new Map([...setup.trust.keys].filter(([id]) => id !== setup.keys.alice.keyId)),
    };
    expect(await reasonOf(twice, bobOnly)).toBe("ok");
    // Re-signing with the same key replaces its entry instead of repeating it.
    const again = (await signPlugin(twice, setup.keys.alice)).wasm;
    expect(parseSignatureSection(readCustomSections(again, SIGNATURE_SECTION)[0]!)).toHaveLength(2);
  });

  it("drops earlier signatures when the manifest changes, and says so", async () => {
    const changed = { ...architectureExample, version: "1.0.1" };
    const result = await signPlugin(signed, setup.keys.bob, { manifest: JSON.stringify(changed) });
    expect(result.warnings[0]).toMatch(/manifest changed/);
    expect(result.kept).toEqual([]);
    expect((await verifyPlugin(result.wasm, setup.trust)).manifest.version).toBe("1.0.1");
  });

  it("writes private keys with mode 0600", async () => {
    const mode = (await stat(`${setup.dir}/keys/alice.key`)).mode & 0o777;
    expect(mode).toBe(0o600);
  });

  it("refuses to sign a manifest whose capability names a missing export", async () => {
    const wasm = buildModule({ exports: ["on_load", "on_event", "on_shutdown"] });
    await expect(signPlugin(wasm, setup.keys.alice, { manifest: manifestText })).rejects.toThrow(
      /capabilities\.greet\.export: the module exports no function named 'greet'/,
    );
  });

  it("lets allowUnsigned load an unsigned plugin with a warning", async () => {
    const unsigned = setCustomSection(
      buildModule({ exports: exportsOfExample }),
      MANIFEST_SECTION,
      new TextEncoder().encode(manifestText),
    );
    expect(await reasonOf(unsigned)).toBe("no_signature");
    const plugin = await verifyPlugin(unsigned, setup.trust, { allowUnsigned: true });
    expect(plugin.signers).toEqual([]);
    expect(plugin.warnings[0]).toMatch(/^no_signature: .*--allow-unsigned/);
  });
});

describe("allowUnsigned (dev mode)", () => {
  it("waives an unknown signer loudly, never a tampered file or a manifest problem", async () => {
    const stranger = await verifyPlugin(signed, emptyTrustStore("(none)"), { allowUnsigned: true });
    expect(stranger.warnings).toHaveLength(1);
    expect(stranger.warnings[0]).toMatch(/^unknown_key: /);
    expect(stranger.signers).toEqual([]);
    const flipped = flip(signed, parseModule(signed).sections.find((s) => s.id === 10)!.end - 2);
    await expect(verifyPlugin(flipped, setup.trust, { allowUnsigned: true })).rejects.toThrow(
      /^tampered: /,
    );
    await expect(verifyPlugin(buildModule(), setup.trust, { allowUnsigned: true })).rejects.toThrow(
      /^no_manifest: /,
    );
  });
});

describe("tamper suite: every case is rejected with the right reason", () => {
  const manifestBytes = new TextEncoder().encode(manifestText);

  it("a byte flipped in the code", async () => {
    const code = parseModule(signed).sections.find((s) => s.id === 10)!;
    expect(await reasonOf(flip(signed, code.end - 2))).toBe("tampered");
  });

  it("a byte flipped in the manifest section", async () => {
    expect(await reasonOf(flip(signed, offsetIn(signed, MANIFEST_SECTION, 20)))).toBe("tampered");
  });

  it("a byte flipped in the signature", async () => {
    const [entry] = parseSignatureSection(readCustomSections(signed, SIGNATURE_SECTION)[0]!) as {
      alg: string;
      keyId: string;
      sig: string;
    }[];
    const sig = fromBase64(entry!.sig)!;
    sig[10]! ^= 0x40;
    const bad = setCustomSection(
      signed,
      SIGNATURE_SECTION,
      encodeSignatureSection([{ ...entry!, sig: toBase64(sig) }]),
    );
    expect(await reasonOf(bad)).toBe("tampered");
    // A flip in the section's JSON text breaks it instead.
    expect(await reasonOf(flip(signed, offsetIn(signed, SIGNATURE_SECTION, 1), 0x80))).toBe(
      "malformed",
    );
  });

  it("a section added, removed, reordered or duplicated", async () => {
    const module = parseModule(signed);
    const sigIndex = module.sections.findIndex((s) => s.name === SIGNATURE_SECTION);
    const added = filterSections(module, (_, i) => i !== sigIndex);
    const withExtra = appendCustomSection(
      appendCustomSection(added, "name", Uint8Array.of(0)),
      SIGNATURE_SECTION,
      readCustomSections(signed, SIGNATURE_SECTION)[0]!,
    );
    expect(await reasonOf(withExtra)).toBe("tampered");

    const exportIndex = module.sections.findIndex((s) => s.id === 7);
    expect(await reasonOf(filterSections(module, (_, i) => i !== exportIndex))).toBe("tampered");

    // Swap the manifest with the code section before it.
    const manifestIndex = module.sections.findIndex((s) => s.name === MANIFEST_SECTION);
    const order = module.sections.map((_, i) => i);
    [order[manifestIndex - 1], order[manifestIndex]] = [
      order[manifestIndex]!,
      order[manifestIndex - 1]!,
    ];
    const reordered = new Uint8Array([
      ...signed.subarray(0, 8),
      ...order.flatMap((
        i,
      ) => [...signed.subarray(module.sections[i]!.start, module.sections[i]!.end)]),
    ]);
    expect(await reasonOf(reordered)).toBe("tampered");

    const m = module.sections[manifestIndex]!;
    const duplicated = new Uint8Array([
      ...signed.subarray(0, m.end),
      ...signed.subarray(m.start, m.end),
      ...signed.subarray(m.end),
    ]);
    expect(customSections(parseModule(duplicated)).filter((s) => s.name === MANIFEST_SECTION))
      .toHaveLength(2);
    expect(await reasonOf(duplicated)).toBe("tampered");

    const s = module.sections[sigIndex]!;
    const twoSignatureSections = new Uint8Array([...signed, ...signed.subarray(s.start, s.end)]);
    expect(await reasonOf(twoSignatureSections)).toBe("malformed");
  });

  it("the signature moved to another module", async () => {
    const other = setCustomSection(
      buildModule({ exports: [...exportsOfExample, "extra"] }),
      MANIFEST_SECTION,
      manifestBytes,
    );
    const moved = appendCustomSection(
      other,
      SIGNATURE_SECTION,
      readCustomSections(signed, SIGNATURE_SECTION)[0]!,
    );
    expect(await reasonOf(moved)).toBe("tampered");
  });

  it("a truncated file", async () => {
    for (const cut of [1, 10, 100]) {
      expect(await reasonOf(signed.subarray(0, signed.length - cut))).toBe("malformed");
    }
    expect(await reasonOf(signed.subarray(0, 4))).toBe("not_wasm");
  });

  it("an untrusted, a revoked and an expired key", async () => {
    const sign = async (key: keyof SigningSetup["keys"]) =>
      (await signPlugin(buildModule({ exports: exportsOfExample }), setup.keys[key], {
        manifest: manifestText,
      })).wasm;
    expect(await reasonOf(await sign("mallory"))).toBe("unknown_key");
    expect(await reasonOf(await sign("revoked"))).toBe("revoked");
    expect(await reasonOf(await sign("old"))).toBe("expired");
    // Expiry is checked at `now`: before it, the key was fine.
    expect(await reasonOf(await sign("old"), setup.trust, new Date("2019-06-01T00:00:00Z"))).toBe(
      "ok",
    );
  });

  it("no manifest, no signature", async () => {
    expect(await reasonOf(buildModule())).toBe("no_manifest");
    expect(
      await reasonOf(
        setCustomSection(
          buildModule({ exports: exportsOfExample }),
          MANIFEST_SECTION,
          manifestBytes,
        ),
      ),
    ).toBe("no_signature");
  });

  it("a manifest whose capability names a missing export, signed anyway", async () => {
    // signPlugin refuses this, so build the file by hand as an attacker or old tool would.
    const wasm = setCustomSection(
      buildModule({ exports: ["on_load", "on_event", "on_shutdown"] }),
      MANIFEST_SECTION,
      manifestBytes,
    );
    const unchecked = await signUnchecked(wasm);
    expect(await reasonOf(unchecked)).toBe("invalid_manifest");
    await expect(verifyPlugin(unchecked, setup.trust)).rejects.toThrow(/no function named 'greet'/);
  });

  it("a trust store on disk gives the same answers", async () => {
    const fromDisk = await loadTrustStore(setup.trustDir);
    expect(fromDisk.keys.size).toBe(4);
    expect(await reasonOf(signed, fromDisk)).toBe("ok");
  });
});

describe("property: random byte flips never verify", () => {
  it("rejects 400 random single-byte changes across the whole file", async () => {
    let seed = 0x2545f491;
    const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const reasons = new Map<string, number>();
    for (let i = 0; i < 400; i++) {
      const at = Math.floor(next() * signed.length);
      const mask = 1 + Math.floor(next() * 255);
      const reason = await reasonOf(flip(signed, at, mask));
      expect(reason, `flip at ${at} mask ${mask}`).not.toBe("ok");
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    expect(reasons.get("tampered")).toBeGreaterThan(0);
  });

  it("rejects every single-bit flip inside the signature section", async () => {
    const section = parseModule(signed).sections.find((s) => s.name === SIGNATURE_SECTION)!;
    for (let at = section.start; at < section.end; at++) {
      for (let bit = 0; bit < 8; bit++) {
        expect(await reasonOf(flip(signed, at, 1 << bit))).not.toBe("ok");
      }
    }
  });
});

/** Signs without signPlugin's manifest checks, to test that verification repeats them. */
async function signUnchecked(wasm: Uint8Array): Promise<Uint8Array> {
  const { signedDigest } = await import("../artifact/digest.ts");
  const { sign } = await import("./ed25519.ts");
  const signature = await sign(await signedDigest(wasm), setup.keys.alice.secretKey);
  return appendCustomSection(
    wasm,
    SIGNATURE_SECTION,
    encodeSignatureSection([{
      alg: "ed25519",
      keyId: setup.keys.alice.keyId,
      sig: toBase64(signature),
    }]),
  );
}
