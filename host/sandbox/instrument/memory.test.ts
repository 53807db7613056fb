import { describe, expect, it } from "vitest";
import { HostError } from "../../errors.ts";
import {
  concat,
  customContents,
  encodeSection,
  encodeUleb as encodeU32,
  readSections,
} from "../../artifact/mod.ts";
import { instantiate, metered, wat } from "./_testing.ts";
import { instrument } from "./mod.ts";
import { MAX_TABLE_ENTRIES, MAX_TABLES } from "./scan.ts";

const grower = (limits: string) =>
  wat(`(module (memory (export "memory") ${limits})
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "size") (result i32) (memory.size)))`);

function codeOf(error: unknown): string | undefined {
  return error instanceof HostError ? error.code : undefined;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

function custom(name: string, contents: number[]): Uint8Array {
  const nameBytes = new TextEncoder().encode(name);
  return encodeSection(0, [...encodeU32(nameBytes.length), ...nameBytes, ...contents]);
}

function customSections(bytes: Uint8Array): Map<string, number[]> {
  const map = new Map<string, number[]>();
  for (const s of readSections(bytes)) {
    if (s.id === 0) map.set(s.name ?? "", [...customContents(bytes, s)]);
  }
  return map;
}

describe("memory cap", () => {
  for (const meter of [true, false]) {
    it(`memory.grow past the cap returns -1 (meter: ${meter})`, () => {
      const out = instrument(grower("1"), { memoryMaxPages: 4, meter });
      expect(out.originalMemory).toEqual({ initial: 1, maximum: null });
      expect(out.memoryMaxPages).toBe(4);
      const instance = instantiate(out.bytes);
      const grow = instance.exports.grow as (n: number) => number;
      expect(grow(2)).toBe(1);
      expect(grow(2)).toBe(-1);
      expect(grow(1)).toBe(3);
      expect(grow(1)).toBe(-1);
      expect((instance.exports.size as () => number)()).toBe(4);
    });
  }

  it("keeps a declared maximum below the cap", () => {
    const out = instrument(grower("1 2"), { memoryMaxPages: 100 });
    expect(out.originalMemory).toEqual({ initial: 1, maximum: 2 });
    expect(out.memoryMaxPages).toBe(2);
    const instance = instantiate(out.bytes);
    expect(metered(instance, "grow", 1000n, 2).value).toBe(-1);
    expect(metered(instance, "grow", 1000n, 1).value).toBe(1);
  });

  it("lowers a declared maximum above the cap", () => {
    const out = instrument(grower("1 1000"), { memoryMaxPages: 3 });
    expect(out.memoryMaxPages).toBe(3);
    const memory = instantiate(out.bytes).exports.memory as WebAssembly.Memory;
    expect(() => memory.grow(3)).toThrow(RangeError);
    expect(memory.grow(2)).toBe(1);
  });

  it("refuses a module whose initial memory is above the cap, naming both numbers", () => {
    const error = thrown(() => instrument(grower("10"), { memoryMaxPages: 8 }));
    expect(codeOf(error)).toBe("memory_limit");
    expect(String(error)).toMatch(/10 pages/);
    expect(String(error)).toMatch(/8 pages/);
  });

  it("refuses an imported memory", () => {
    const imported = wat(`(module (import "env" "memory" (memory 1)))`);
    const error = thrown(() => instrument(imported, { memoryMaxPages: 8 }));
    expect(codeOf(error)).toBe("load_error");
    expect(String(error)).toMatch(/imports its memory \("env"\."memory"\)/);
  });

  it("accepts a module without memory", () => {
    const out = instrument(wat(`(module (func (export "f")))`), { memoryMaxPages: 8 });
    expect(out.originalMemory).toBeNull();
    expect(out.memoryMaxPages).toBe(8);
  });
});

describe("load errors and refused proposals", () => {
  it("invalid WASM is a load_error that says why", () => {
    const error = thrown(() =>
      instrument(new TextEncoder().encode("hello"), { memoryMaxPages: 1 })
    );
    expect(codeOf(error)).toBe("load_error");
    expect(String(error)).toMatch(/not a WebAssembly module \(no \\0asm header\)/);
    const full = grower("1");
    const truncated = full.subarray(0, full.length - 3);
    const broken = thrown(() => instrument(truncated, { memoryMaxPages: 1 }));
    expect(codeOf(broken)).toBe("load_error");
    expect(String(broken)).toMatch(/not a valid WebAssembly module \(.+\); rebuild the plugin/);
  });

  it("refuses shared memory (threads)", () => {
    // Header, then a memory section: one memory, flags 3 (shared, has max), 1..2 pages.
    const shared = concat([wat(`(module)`), encodeSection(5, [1, 3, 1, 2])]);
    expect(WebAssembly.validate(shared as BufferSource)).toBe(true);
    const error = thrown(() => instrument(shared, { memoryMaxPages: 4 }));
    expect(codeOf(error)).toBe("load_error");
    expect(String(error)).toMatch(/shared memory/);
  });

  it("refuses atomic instructions even on an unshared memory", () => {
    const atomic = wat(
      `(module (memory 1) (func (export "f") (result i32) (i32.atomic.load (i32.const 0))))`,
      { threads: true },
    );
    const error = thrown(() => instrument(atomic, { memoryMaxPages: 4 }));
    expect(codeOf(error)).toBe("load_error");
    expect(String(error)).toMatch(/atomic/i);
  });

  it("refuses exception handling", () => {
    const exceptions = wat(`(module (tag $e) (func (export "f") (throw $e)))`, {
      exceptions: true,
    });
    const error = thrown(() => instrument(exceptions, { memoryMaxPages: 4 }));
    expect(codeOf(error)).toBe("load_error");
    expect(String(error)).toMatch(/exception/);
  });
});

describe("what is preserved", () => {
  const base = wat(`(module
    (import "env" "log" (func $log (param i32)))
    (memory (export "memory") 1)
    (global (export "g") i32 (i32.const 7))
    (func $helper (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
    (func (export "run") (param i32) (result i32)
      (call $log (local.get 0)) (call $helper (local.get 0))))`);
  const withSections = concat([
    base,
    custom("plughost.manifest", [...new TextEncoder().encode('{"name":"x"}')]),
    custom(".debug_info", [1, 2, 3, 4]),
    custom("plughost.signature", Array.from({ length: 64 }, (_, i) => (i * 7) & 255)),
  ]);

  it("keeps custom sections byte for byte and strips DWARF", () => {
    for (const meter of [true, false]) {
      const out = instrument(withSections, { memoryMaxPages: 4, meter });
      const before = customSections(withSections);
      const after = customSections(out.bytes);
      expect(after.get("plughost.manifest")).toEqual(before.get("plughost.manifest"));
      expect(after.get("plughost.signature")).toEqual(before.get("plughost.signature"));
      expect(after.has(".debug_info")).toBe(false);
      expect(after.has("name")).toBe(true);
    }
  });

  it("keeps imports and exports, adding only plughost_fuel and the state exports", () => {
    const out = instrument(withSections, { memoryMaxPages: 4 });
    const original = new WebAssembly.Module(withSections as BufferSource);
    const rewritten = new WebAssembly.Module(out.bytes as BufferSource);
    expect(WebAssembly.Module.imports(rewritten)).toEqual(WebAssembly.Module.imports(original));
    // The meter's own counter is a mutable global: exported so a reset can restore it (state.ts).
    expect(WebAssembly.Module.exports(rewritten)).toEqual([
      ...WebAssembly.Module.exports(original),
      { name: "plughost_fuel", kind: "global" },
      { name: "plughost_state_0", kind: "global" },
      { name: "plughost_resettable", kind: "global" },
    ]);
    const logged: number[] = [];
    const instance = instantiate(out.bytes, { env: { log: (n: number) => logged.push(n) } });
    expect(metered(instance, "run", 1000n, 5).value).toBe(15);
    expect(logged).toEqual([5]);
  });

  it("keeps the function names of the name section", () => {
    const out = instrument(withSections, { memoryMaxPages: 4 });
    const text = new TextDecoder("latin1").decode(
      new Uint8Array(customSections(out.bytes).get("name") ?? []),
    );
    expect(text).toContain("helper");
  });
});

describe("table cap", () => {
  const tableGrower = (tables: string) =>
    wat(`(module (memory 1) ${tables}
      (func (export "grow") (param i32) (result i32) (table.grow 0 (ref.null func) (local.get 0)))
      (func (export "size") (result i32) (table.size 0)))`);

  for (const meter of [true, false]) {
    it(`table.grow past ${MAX_TABLE_ENTRIES} entries returns -1 (meter: ${meter})`, () => {
      const out = instrument(tableGrower("(table 10 funcref)"), { memoryMaxPages: 4, meter });
      const instance = instantiate(out.bytes);
      const grow = instance.exports.grow as (n: number) => number;
      expect(grow(MAX_TABLE_ENTRIES - 10)).toBe(10);
      expect(grow(1)).toBe(-1);
      expect((instance.exports.size as () => number)()).toBe(MAX_TABLE_ENTRIES);
    });
  }

  it("keeps a declared maximum below the cap", () => {
    const out = instrument(tableGrower("(table 1 20 funcref)"), { memoryMaxPages: 4 });
    const grow = instantiate(out.bytes).exports.grow as (n: number) => number;
    expect(grow(19)).toBe(1);
    expect(grow(1)).toBe(-1);
  });

  it("refuses more tables than the sandbox allows, a table past the cap, and imported tables", () => {
    const many = Array.from({ length: MAX_TABLES + 1 }, () => "(table 1 funcref)").join(" ");
    for (
      const [module, message] of [
        [tableGrower(many), `defines ${MAX_TABLES + 1} tables`],
        [tableGrower(`(table ${MAX_TABLE_ENTRIES + 1} funcref)`), "starts with"],
        [
          wat(`(module (import "env" "t" (table 1 funcref)) (memory 1))`),
          "imports a table",
        ],
      ] as const
    ) {
      const error = thrown(() => instrument(module, { memoryMaxPages: 4 }));
      expect(codeOf(error)).toBe("load_error");
      expect((error as Error).message).toContain(message);
    }
  });
});
