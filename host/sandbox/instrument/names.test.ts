// The instrumenter's own names (plughost$...) taken by a module's name section: the load is refused
// with a message that says which name and what to do, instead of failing inside binaryen.
import { describe, expect, it } from "vitest";
import { instrument } from "./instrument.ts";
import { wat } from "./_testing.ts";

const moduleNaming = (declaration: string, use: string) =>
  wat(`(module
    (memory (export "memory") 1)
    ${declaration}
    (func (export "run") (result i32)
      (drop (memory.grow (i32.const 1)))
      ${use}))`);

describe("names reserved for the instrumenter", () => {
  for (
    const [kind, declaration, use] of [
      [
        "function",
        "(func $plughost$memory_grow (result i32) (i32.const 7))",
        "(call $plughost$memory_grow)",
      ],
      ["global", "(global $plughost$fuel (mut i32) (i32.const 7))", "(global.get $plughost$fuel)"],
    ]
  ) {
    it(`a ${kind} named plughost$... in the name section is refused with load_error`, () => {
      const bytes = moduleNaming(declaration!, use!);
      expect(() => instrument(bytes, { memoryMaxPages: 16 })).toThrow(
        /name section names a function or global "plughost\$[a-z_]+": names starting with "plughost\$" are the sandbox's own/,
      );
    });
  }

  it("other names, and plughost_ with an underscore, load as before", () => {
    const bytes = moduleNaming(
      "(global $plughost_mine (mut i32) (i32.const 7)) (func $helper (result i32) (i32.const 1))",
      "(i32.add (global.get $plughost_mine) (call $helper))",
    );
    const out = instrument(bytes, { memoryMaxPages: 16 });
    expect(WebAssembly.validate(out.bytes as BufferSource)).toBe(true);
  });
});
