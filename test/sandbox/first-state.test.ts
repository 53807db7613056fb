/**
 * The first state shared by the instances of a module whose instantiation runs
 * none of its code (host/sandbox/reset.ts `FirstState`): a later instance's
 * snapshot comes from the first one's copy and puts back that instance's own
 * globals; a module with a start section or an export Extism runs at
 * instantiation never shares one, since its start code may leave each
 * instance in another state.
 * @module
 */
import { describe, expect, it } from "vitest";
import wabtInit from "wabt";
import { FirstState, Snapshot } from "../../host/sandbox/reset.ts";

const wabt = await wabtInit();

function assemble(text: string): Uint8Array {
  const parsed = wabt.parseWat("first-state.wat", text);
  try {
    return parsed.toBinary({}).buffer;
  } finally {
    parsed.destroy();
  }
}

/** Data at 16, a mutable exported global, and (optionally) start code or an init export. */
function moduleText(extra: string): string {
  return `(module
    (import "env" "next" (func $next (result i32)))
    (memory (export "memory") 2)
    (data (i32.const 16) "first")
    (global $g (export "g") (mut i32) (i32.const 7))
    (func $init (i32.store (i32.const 0) (call $next)))
    ${extra})`;
}

const names = (bytes: Uint8Array) =>
  WebAssembly.Module.exports(new WebAssembly.Module(bytes as BufferSource)).map((e) => e.name);

/** Instances of `bytes` whose import `next` answers 1, 2, 3, ... across instances. */
function instances(bytes: Uint8Array, count: number): WebAssembly.Exports[] {
  const module = new WebAssembly.Module(bytes as BufferSource);
  let n = 0;
  return Array.from(
    { length: count },
    () => new WebAssembly.Instance(module, { env: { next: () => ++n } }).exports,
  );
}

const memoryOf = (exports: WebAssembly.Exports) =>
  new Uint8Array((exports["memory"] as WebAssembly.Memory).buffer);
const globalOf = (exports: WebAssembly.Exports) => exports["g"] as WebAssembly.Global;

describe("FirstState", () => {
  it("is kept only for modules whose instantiation runs none of their code", () => {
    const plain = assemble(moduleText(""));
    expect(FirstState.of(plain, names(plain))).not.toBeNull();
    const started = assemble(moduleText("(start $init)"));
    expect(FirstState.of(started, names(started))).toBeNull();
    for (const name of ["_initialize", "_start", "hs_init"]) {
      const bytes = assemble(moduleText(`(export "${name}" (func $init))`));
      expect(FirstState.of(bytes, names(bytes)), name).toBeNull();
    }
  });

  it("serves a later instance from the first one's copy, putting back that instance's own globals", () => {
    const bytes = assemble(moduleText(""));
    const first = FirstState.of(bytes, names(bytes))!;
    const [a, b] = instances(bytes, 2) as [WebAssembly.Exports, WebAssembly.Exports];
    // The copy is held weakly by the module and strongly by the snapshots of live instances.
    const held = Snapshot.take(a, first);
    expect(first.held).toBe(true);
    const snapshot = Snapshot.take(b, first);
    expect(first.served).toBe(1);
    memoryOf(b).fill(9, 0, 200_000);
    globalOf(b).value = 99;
    globalOf(a).value = 55;
    expect(snapshot.restore()).toBe(true);
    expect(new TextDecoder().decode(memoryOf(b).subarray(16, 21))).toBe("first");
    expect(memoryOf(b).subarray(0, 16).every((byte) => byte === 0)).toBe(true);
    expect(memoryOf(b).subarray(21, 131_072).every((byte) => byte === 0)).toBe(true);
    expect(globalOf(b).value).toBe(7);
    expect(globalOf(a).value).toBe(55); // the first instance is not touched
    expect(held.restore()).toBe(true);
    expect(globalOf(a).value).toBe(7);
  });

  it("is not shared when start code ran: each instance goes back to its own first state", () => {
    const bytes = assemble(moduleText("(start $init)"));
    const first = FirstState.of(bytes, names(bytes));
    const [a, b] = instances(bytes, 2) as [WebAssembly.Exports, WebAssembly.Exports];
    expect(memoryOf(a)[0]).toBe(1);
    expect(memoryOf(b)[0]).toBe(2);
    Snapshot.take(a, first);
    const snapshot = Snapshot.take(b, first);
    memoryOf(b)[0] = 200;
    expect(snapshot.restore()).toBe(true);
    expect(memoryOf(b)[0]).toBe(2);
  });

  it("a memory of another size than the copy's is read, not served", () => {
    const bytes = assemble(moduleText(""));
    const first = FirstState.of(bytes, names(bytes))!;
    const [a, b] = instances(bytes, 2) as [WebAssembly.Exports, WebAssembly.Exports];
    const held = Snapshot.take(a, first);
    (b["memory"] as WebAssembly.Memory).grow(1);
    memoryOf(b)[140_000] = 3;
    const snapshot = Snapshot.take(b, first);
    expect(first.served).toBe(0);
    memoryOf(b)[140_000] = 4;
    expect(snapshot.restore()).toBe(true);
    expect(memoryOf(b)[140_000]).toBe(3);
    expect(held.restore()).toBe(true);
  });
});
