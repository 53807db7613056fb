import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  appendCustomSection,
  customSections,
  encodeCustomSection,
  encodeUleb,
  moduleDigest,
  moduleInfo,
  moduleProblemOf,
  parseModule,
  pluginDigests,
  readCustomSections,
  readUleb,
  removeCustomSections,
  setCustomSection,
  SIGNATURE_SECTION,
  signedContent,
  signedDigest,
  toHex,
} from "../../host/artifact/mod.ts";
import fc from "fast-check";
import { conformanceDir, conformanceTitle, hasConformance } from "../helpers/conformance.ts";
import { buildModule } from "./fixture.ts";

const text = (s: string) => new TextEncoder().encode(s);
// Byte comparison without vitest's slow deep diff on large arrays.
const same = (a: Uint8Array | undefined, b: Uint8Array) =>
  a !== undefined && Buffer.compare(a, b) === 0;

describe("LEB128", () => {
  it("round-trips boundary values in minimal form", () => {
    for (
      const n of [0, 1, 127, 128, 255, 16383, 16384, 2 ** 21, 2 ** 28 - 1, 2 ** 31, 0xffff_ffff]
    ) {
      const bytes = encodeUleb(n);
      expect(bytes.length).toBe(Math.max(1, Math.ceil(Math.log2(n + 1) / 7)));
      expect(readUleb(bytes, 0)).toEqual({ value: n, next: bytes.length });
    }
  });
  it("round-trips 5000 random u32 values, minimal and padded to 5 bytes", () => {
    for (let i = 0; i < 5000; i++) {
      const n = crypto.getRandomValues(new Uint32Array(1))[0]! >>> (i % 32);
      const minimal = encodeUleb(n);
      expect(readUleb(minimal, 0)).toEqual({ value: n, next: minimal.length });
      const padded = new Uint8Array(5);
      padded.set(minimal);
      for (let j = 0; j < 4; j++) padded[j]! |= 0x80;
      expect(readUleb(padded, 0)).toEqual({ value: n, next: 5 });
    }
  });
  it("accepts padded encodings as the spec allows", () => {
    expect(readUleb(Uint8Array.of(0x80, 0x80, 0x00), 0)).toEqual({ value: 0, next: 3 });
    expect(readUleb(Uint8Array.of(0xff, 0x80, 0x80, 0x80, 0x00), 0)).toEqual({
      value: 127,
      next: 5,
    });
  });
  it("refuses numbers past 32 bits, overlong and truncated ones", () => {
    expect(() => readUleb(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x1f), 0)).toThrow(
      /exceeds 32 bits/,
    );
    expect(() => readUleb(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x00), 0)).toThrow(/exceeds/);
    expect(() => readUleb(Uint8Array.of(0x80, 0x80), 0)).toThrow(/truncated/);
    expect(readUleb(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f), 0).value).toBe(0xffff_ffff);
    expect(() => encodeUleb(2 ** 32)).toThrow(RangeError);
  });
});

describe("custom sections", () => {
  const wasm = buildModule();

  it("appends, reads, and keeps several sections of one name in order", () => {
    let out = appendCustomSection(wasm, "x.a", text("one"));
    out = appendCustomSection(out, "x.b", text("mid"));
    out = appendCustomSection(out, "x.a", text("two"));
    expect(readCustomSections(out, "x.a").map((d) => new TextDecoder().decode(d))).toEqual([
      "one",
      "two",
    ]);
    expect(customSections(parseModule(out)).map((s) => s.name)).toEqual(["x.a", "x.b", "x.a"]);
    // The original bytes are a prefix: nothing before the new sections moved.
    expect(same(out.subarray(0, wasm.length), wasm)).toBe(true);
    expect(removeCustomSections(out, "x.a")).toEqual(appendCustomSection(wasm, "x.b", text("mid")));
    expect(() => new WebAssembly.Module(out as Uint8Array<ArrayBuffer>)).not.toThrow();
  });

  it("replaces sections of a name in place of the first one", () => {
    let out = appendCustomSection(wasm, "x.a", text("one"));
    out = appendCustomSection(out, "x.b", text("mid"));
    out = appendCustomSection(out, "x.a", text("two"));
    const replaced = setCustomSection(out, "x.a", text("new"));
    expect(customSections(parseModule(replaced)).map((s) => s.name)).toEqual(["x.a", "x.b"]);
    expect(readCustomSections(replaced, "x.a")).toEqual([text("new")]);
  });

  it("handles large sections whose size needs several LEB128 bytes", () => {
    const big = new Uint8Array(300_000).fill(7);
    const out = appendCustomSection(wasm, "big", big);
    expect(same(readCustomSections(out, "big")[0], big)).toBe(true);
  });

  // Reads an Extism conformance plugin; without them (a clone elsewhere) it skips, named.
  it.skipIf(!hasConformance)(
    conformanceTitle("leaves a real Extism plugin's other sections byte for byte"),
    () => {
      const code = new Uint8Array(readFileSync(join(conformanceDir, "code.wasm")));
      const before = parseModule(code).sections;
      const out = appendCustomSection(code, SIGNATURE_SECTION, text("{}"));
      const after = parseModule(out).sections;
      expect(after.slice(0, -1).map((s) => [s.id, s.start, s.end])).toEqual(
        before.map((s) => [s.id, s.start, s.end]),
      );
      expect(same(signedContent(out), code)).toBe(true);
    },
  );
});

describe("module errors", () => {
  it("tells not-WASM from malformed", () => {
    const problem = (bytes: Uint8Array) => {
      try {
        parseModule(bytes);
        return "ok";
      } catch (error) {
        return moduleProblemOf(error);
      }
    };
    expect(problem(text("hello world, not wasm"))).toBe("not_wasm");
    expect(problem(Uint8Array.of(0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0))).toBe("not_wasm");
    const wasm = buildModule();
    expect(problem(wasm.subarray(0, wasm.length - 3))).toBe("malformed");
    expect(problem(Uint8Array.of(...wasm, 42, 0))).toBe("malformed");
    expect(problem(wasm)).toBe("ok");
  });
});

describe("module facts", () => {
  it("reads imports, exports and memory limits", () => {
    const info = moduleInfo(
      buildModule({ exports: ["a", "b"], imports: ["log"], memory: { min: 2, max: 300 } }),
    );
    expect(info.imports).toEqual([{ module: "env", name: "log", kind: "function" }]);
    expect(info.exports).toEqual([
      { name: "memory", kind: "memory" },
      { name: "a", kind: "function" },
      { name: "b", kind: "function" },
    ]);
    expect(info.memories).toEqual([{ min: 2, max: 300, shared: false, memory64: false }]);
  });

  it.skipIf(!hasConformance)(
    conformanceTitle("agrees with the engine on every conformance plugin"),
    () => {
      for (
        const file of ["code.wasm", "hello_haskell.wasm", "http.wasm", "reflect.wasm", "upper.wasm"]
      ) {
        const bytes = new Uint8Array(readFileSync(join(conformanceDir, file)));
        const compiled = new WebAssembly.Module(bytes);
        const info = moduleInfo(bytes);
        expect(info.exports.map((e) => e.name)).toEqual(
          WebAssembly.Module.exports(compiled).map((e) => e.name),
        );
        expect(info.imports.map((i) => `${i.module}.${i.name}`)).toEqual(
          WebAssembly.Module.imports(compiled).map((i) => `${i.module}.${i.name}`),
        );
      }
    },
  );

  it("gives the same module digest with or without plughost sections", async () => {
    const wasm = buildModule();
    const wrapped = appendCustomSection(
      appendCustomSection(wasm, "plughost.manifest", text("{}")),
      "other",
      text("x"),
    );
    expect(await moduleDigest(wrapped)).toBe(
      await moduleDigest(appendCustomSection(wasm, "other", text("x"))),
    );
  });

  it("reads both digests in one pass as signedDigest and moduleDigest do apart", async () => {
    const names = ["plughost.manifest", SIGNATURE_SECTION, "plughost.other", "name", "other"];
    await fc.assert(
      fc.asyncProperty(
        // Custom sections in any order, before and after the code's sections.
        fc.array(fc.tuple(fc.constantFrom(...names), fc.uint8Array({ maxLength: 40 })), {
          maxLength: 6,
        }),
        fc.nat(6),
        async (customs, split) => {
          let wasm = buildModule();
          const before = customs.slice(0, Math.min(split, customs.length));
          const after = customs.slice(before.length);
          // Custom sections before the code: rebuilt with them first.
          if (before.length > 0) {
            const header = wasm.subarray(0, 8);
            const rest = wasm.subarray(8);
            const parts = [header, ...before.map(([n, d]) => encodeCustomSection(n, d)), rest];
            wasm = new Uint8Array(Buffer.concat(parts));
          }
          for (const [name, data] of after) wasm = appendCustomSection(wasm, name, data);
          const both = await pluginDigests(parseModule(wasm));
          expect(toHex(both.signed)).toBe(toHex(await signedDigest(wasm)));
          expect(both.module).toBe(await moduleDigest(wasm));
        },
      ),
      { numRuns: 200 },
    );
  });
});
