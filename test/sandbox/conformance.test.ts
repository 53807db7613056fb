/**
 * Metering changes no result: every Extism conformance plugin gives the same
 * output (or the same plugin error) through the sandbox as through bare
 * Extism, and the same fuel on every run.
 */
import createPlugin from "@extism/extism";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPlugin, type SandboxLogger } from "../../host/sandbox/mod.ts";
import { conformanceTitle, hasConformance } from "../helpers/conformance.ts";
import { conformance, text, utf8 } from "./fixtures.ts";

interface Case {
  file: string;
  export: string;
  input: string;
  wasi: boolean;
  config?: Record<string, string>;
}

const cases: Case[] = [
  { file: "code.wasm", export: "count_vowels", input: "hello world", wasi: false },
  { file: "hello_haskell.wasm", export: "testing", input: "John", wasi: true },
  { file: "fail.wasm", export: "run_test", input: "", wasi: false },
  { file: "var.wasm", export: "run_test", input: "", wasi: true },
  { file: "log.wasm", export: "run_test", input: "", wasi: true },
  { file: "input_offset.wasm", export: "input_offset_length", input: "hello", wasi: false },
  { file: "alloc.wasm", export: "run_test", input: "", wasi: false },
  { file: "config.wasm", export: "run_test", input: "", wasi: true, config: { thing: "x" } },
];

/** What bare Extism (no metering, no memory cap) returns: output text or the error message. */
async function bare(c: Case): Promise<{ ok: boolean; value: string }> {
  const plugin = await createPlugin({ wasm: [{ data: conformance(c.file) }] }, {
    useWasi: c.wasi,
    config: c.config ?? {},
  });
  try {
    const out = await plugin.call(c.export, utf8(c.input));
    return { ok: true, value: out === null ? "" : out.text() };
  } catch (error) {
    return {
      ok: false,
      value: String((error as Error).message).replace("Plugin-originated error: ", ""),
    };
  } finally {
    await plugin.close();
  }
}

// Without the plugins (a clone elsewhere) both suites skip under a title that says how to run them.
const needsPlugins = describe.skipIf(!hasConformance);

needsPlugins(
  conformanceTitle("conformance plugins: metered through the sandbox = bare Extism"),
  () => {
    for (const c of cases) {
      it(`${c.file} ${c.export}`, async () => {
        const expected = await bare(c);
        const fuel: number[] = [];
        for (let run = 0; run < 2; run++) {
          const plugin = await loadPlugin(conformance(c.file), {
            wasi: c.wasi,
            config: c.config ?? {},
          });
          try {
            const result = await plugin.call(c.export, utf8(c.input));
            const got = result.ok
              ? { ok: true, value: text(result.output) }
              : { ok: false, value: result.error.message };
            expect(got).toEqual(expected);
            if (!result.ok) expect(result.error.class).toBe("plugin_error");
            fuel.push(result.usage.fuel);
          } finally {
            await plugin.close();
          }
        }
        expect(fuel[0]).toBeGreaterThan(0);
        expect(fuel[1]).toBe(fuel[0]);
      });
    }

    it("hello_haskell.wasm answers a second call on the same instance", async () => {
      const plugin = await loadPlugin(conformance("hello_haskell.wasm"), { wasi: true });
      try {
        const first = await plugin.call("testing", utf8("John"));
        const second = await plugin.call("testing", utf8("Ben"));
        expect(first.ok && text(first.output)).toBe("Hello, John");
        expect(second.ok && text(second.output)).toBe("Hello, Ben");
      } finally {
        await plugin.close();
      }
    });

    it("log.wasm logs at each level through the sandbox logger", async () => {
      const lines: string[] = [];
      const record = (level: string) => (message: string) => lines.push(`${level}: ${message}`);
      const logger: SandboxLogger = {
        trace: record("trace"),
        debug: record("debug"),
        info: record("info"),
        warn: record("warn"),
        error: record("error"),
      };
      const plugin = await loadPlugin(conformance("log.wasm"), {
        wasi: true,
        logger,
        logLevel: "trace",
      });
      try {
        const result = await plugin.call("run_test", new Uint8Array());
        expect(result.ok).toBe(true);
      } finally {
        await plugin.close();
      }
      expect(lines).toEqual([
        "trace: this is a trace log",
        "debug: this is a debug log",
        "info: this is an info log",
        "warn: this is a warning log",
        "error: this is an error log",
      ]);
    });
  },
);

needsPlugins(conformanceTitle("http.wasm in worker mode (Extism HTTP with allowedHosts)"), () => {
  let server: Server;
  let url = "";
  beforeAll(async () => {
    server = createServer((_req, res) => res.end("hello from the test server"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    url = `http://127.0.0.1:${address.port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("reaches an allowed host", async () => {
    const plugin = await loadPlugin(conformance("http.wasm"), {
      wasi: true,
      allowedHosts: ["127.0.0.1"],
    });
    try {
      expect(plugin.mode).toBe("worker");
      const result = await plugin.call("http_get", utf8(JSON.stringify({ url })));
      expect(result.ok && text(result.output)).toBe("hello from the test server");
    } finally {
      await plugin.close();
    }
  });

  it("is refused a host not in allowedHosts", async () => {
    const plugin = await loadPlugin(conformance("http.wasm"), {
      wasi: true,
      mode: "worker",
      allowedHosts: ["example.invalid"],
    });
    try {
      const result = await plugin.call("http_get", utf8(JSON.stringify({ url })));
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error.class).toBe("permission_denied");
        expect(result.error.message).toContain("not allowed");
      }
    } finally {
      await plugin.close();
    }
  });
});
