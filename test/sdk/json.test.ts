import { join } from "node:path";
import type { Plugin } from "@extism/extism";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sdkPlugin } from "./abi-harness.ts";
import { compileAssemblyScript, root } from "./asc.ts";

let plugin: Plugin;

beforeAll(async () => {
  const wasm = await compileAssemblyScript(
    join(root, "sdk/as/test/json_roundtrip.ts"),
  );
  plugin = await sdkPlugin(wasm);
});
afterAll(async () => {
  await plugin?.close();
});

async function text(fn: string, input: string): Promise<string> {
  const out = await plugin.call(fn, input);
  return out?.text() ?? "";
}

const valid = [
  `{"a":1,"b":[true,false,null],"c":{"d":"e"}}`,
  ` \t\r\n[ 1 , 2 ,{ } , [ ] ]\n `,
  `""`,
  `"\\"\\\\\\/\\b\\f\\n\\r\\t"`,
  `"\\u0041\\u00e9\\u4E2D\\u0000\\u001f\\u007f\\u2028"`,
  `"\\ud83d\\ude00 pair"`,
  `"lone high \\ud800 and low \\udc00, reversed \\udc00\\ud800"`,
  `"Zoë 日本 🎉 ﬃ"`,
  `{"a":1,"b":2,"a":3}`,
  `{"__proto__":{"x":1},"":0}`,
  `[0,-0,1,-1,1.5,1e2,1E+2,1e-2,-0.0e0,12345678901234567890,1e400,-1e400,5e-324]`,
  `null`,
  `true`,
  `"${"x".repeat(10000)}"`,
  "[".repeat(500) + "]".repeat(500),
];

const invalid = [
  ``,
  `{`,
  `[1,]`,
  `{"a":1,}`,
  `01`,
  `-01`,
  `1.`,
  `.5`,
  `+1`,
  `-`,
  `1e`,
  `1e+`,
  `"abc`,
  `"\\x"`,
  `"\\u12"`,
  `"\\u12G4"`,
  `tru`,
  `nul`,
  `[1 2]`,
  `{"a" 1}`,
  `{1:2}`,
  `"a\tb"`,
  `1 2`,
  `NaN`,
  `Infinity`,
  `'a'`,
  `[1]]`,
  `{"a":1}x`,
];

describe("sdk/as json", () => {
  it("round-trips valid JSON exactly as JSON.stringify(JSON.parse(text))", async () => {
    for (const input of valid) {
      expect(await text("roundtrip", input), input.slice(0, 60)).toBe(
        JSON.stringify(JSON.parse(input)),
      );
    }
  });

  it("round-trips non-ASCII input bytes as UTF-8", async () => {
    const input = JSON.stringify({
      name: "Zoë",
      emoji: "🎉",
      cjk: "中文",
      key_é: ["ñ"],
    });
    const out = await plugin.call("roundtrip", new TextEncoder().encode(input));
    expect(out?.text()).toBe(input);
  });

  it("rejects what JSON.parse rejects, with a message and offset", async () => {
    for (const input of invalid) {
      expect(() => JSON.parse(input), input).toThrow();
      await expect(plugin.call("roundtrip", input), input).rejects.toThrow(
        /at offset \d+/,
      );
    }
  });

  it("refuses nesting deeper than 512 without trapping", async () => {
    const deep = "[".repeat(600) + "]".repeat(600);
    const out = JSON.parse(await text("parse_error", deep));
    expect(out).toEqual({
      ok: false,
      error: "nesting deeper than 512 at offset 512",
      position: 512,
    });
  });

  it("formats numbers as JavaScript does", async () => {
    const fixed = [
      1,
      -1,
      1.5,
      0.1,
      0.1 + 0.2,
      1e21,
      1e20,
      123456789012345680000,
      1e-7,
      1.5e-7,
      1e-6,
      0.000001234,
      5e-324,
      1.7976931348623157e308,
      9007199254740992,
      2 ** 60,
      1e300,
      -1.25e-10,
      123.456e5,
      4.35,
      0.5,
      100,
      1e100,
      2.5e-5,
      123e-20,
      1.2345678901234567e-300,
      -0,
      0,
    ];
    // Deterministic random doubles from random bit patterns (finite ones only).
    let seed = 0x2545f491n;
    const view = new DataView(new ArrayBuffer(8));
    const random: number[] = [];
    while (random.length < 2000) {
      seed = (seed * 6364136223846793005n + 1442695040888963407n) &
        0xffffffffffffffffn;
      view.setBigUint64(0, seed);
      const n = view.getFloat64(0);
      if (Number.isFinite(n)) random.push(n);
    }
    const numbers = [...fixed, ...random];
    const out = JSON.parse(
      await text("format_numbers", JSON.stringify(numbers)),
    ) as string[];
    expect(out).toEqual(numbers.map((n) => String(n)));
  });

  it("parses numbers correctly rounded, as Number(text) does", async () => {
    const texts = [
      "2.2250738585072011e-308",
      "2.2250738585072012e-308",
      "4.9e-324",
      "5e-324",
      "2.4703282292062327e-324",
      "2.4703282292062328e-324",
      "1.7976931348623157e308",
      "1.7976931348623158e308",
      "1.7976931348623159e308",
      "9007199254740993",
      "9007199254740993.0000000001",
      "9007199254740995",
      "1e23",
      "8.98846567431158e307",
      "0.1",
      "123456789012345678901234567890",
      "1" + "0".repeat(400) + "e-400",
      "0." + "0".repeat(400) + "1e400",
      "1e-400",
      "-0",
      "0e99999999999",
      "1e99999999999",
      "-1.5e-7",
      "7.2057594037927933e16",
      "3.0517578125e-5",
      "1e308",
      "1e309",
    ];
    // Shortest texts of random doubles, and longer texts near rounding boundaries.
    let seed = 0x9e3779b9n;
    const view = new DataView(new ArrayBuffer(8));
    while (texts.length < 1500) {
      seed = (seed * 6364136223846793005n + 1442695040888963407n) &
        0xffffffffffffffffn;
      view.setBigUint64(0, seed);
      const n = Math.abs(view.getFloat64(0));
      if (!Number.isFinite(n) || n === 0) continue;
      texts.push(
        String(n),
        n.toPrecision(17),
        n.toPrecision(21),
        n.toPrecision(40),
      );
    }
    const out = JSON.parse(
      await text("parse_numbers", JSON.stringify(texts)),
    ) as string[];
    const bits = (n: number): string => {
      view.setFloat64(0, n);
      return view.getBigUint64(0).toString(16);
    };
    expect(out).toEqual(texts.map((t) => bits(Number(t))));
  });

  it("reads values through the accessors", async () => {
    expect(
      JSON.parse(
        await text("describe", `{"name":"Zoë","n":2.5,"flag":true,"z":null}`),
      ),
    )
      .toEqual({
        kind: 5,
        keys: ["name", "n", "flag", "z"],
        name: "Zoë",
        n: 2.5,
        flag: true,
        hasMissing: false,
      });
    expect(JSON.parse(await text("describe", `{"name":1}`))).toEqual({
      kind: 5,
      keys: ["name"],
      name: null,
      n: -1,
      flag: false,
      hasMissing: false,
    });
    expect(JSON.parse(await text("describe", `[1,[2],3]`))).toEqual({
      kind: 4,
      length: 3,
    });
    expect(JSON.parse(await text("describe", `"s"`))).toEqual({ kind: 3 });
  });

  it("builds trees in code with escapes, order, replacement and deletion", async () => {
    expect(await text("build", "")).toBe(JSON.stringify({
      text: 'tab\there "quoted" back\\slash é 🎉 \u0001',
      list: [1.5, "two", null],
      yes: true,
      big: 1e21,
      small: 1e-7,
      nan: NaN,
      text2: "replaced",
    }));
  });

  it("decodes and encodes UTF-8 exactly as TextDecoder and TextEncoder do", async () => {
    const cases: number[][] = [
      [0x22, 0xff, 0x22],
      [0x22, 0xc3, 0x22],
      [0xed, 0xa0, 0x80],
      [0xf0, 0x9f, 0x8e],
      [0xf4, 0x90, 0x80, 0x80],
      [0xe0, 0x80, 0xaf],
      [0xc0, 0xaf],
      [0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x8e, 0x89],
    ];
    let seed = 12345;
    const pick = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const interesting = [
      0x00,
      0x22,
      0x41,
      0x7f,
      0x80,
      0x8f,
      0x90,
      0x9f,
      0xa0,
      0xbf,
      0xc0,
      0xc2,
      0xdf,
      0xe0,
      0xed,
      0xef,
      0xf0,
      0xf4,
      0xf5,
      0xff,
    ];
    while (cases.length < 400) {
      cases.push(
        Array.from(
          { length: 1 + pick(8) },
          () => interesting[pick(interesting.length)]!,
        ),
      );
    }
    const decoder = new TextDecoder();
    const encoder = new TextEncoder();
    for (const bytes of cases) {
      const out = await plugin.call("recode", new Uint8Array(bytes));
      expect([...(out?.bytes() ?? [])], bytes.join(",")).toEqual([
        ...encoder.encode(decoder.decode(new Uint8Array(bytes))),
      ]);
    }
    const lone = await plugin.call(
      "encode_string",
      `"a\\ud800b\\udc00c\\ud83d\\ude00"`,
    );
    expect([...(lone?.bytes() ?? [])]).toEqual([
      ...encoder.encode("a\ud800b\udc00c\ud83d\ude00"),
    ]);
  });

  it("decodes UTF-8 from a view with an offset", async () => {
    expect(await text("echo_text", "xZoë🎉")).toBe(`${"xZoë🎉".length}:Zoë🎉`);
  });
});
