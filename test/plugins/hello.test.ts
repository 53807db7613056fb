import { describe, expect, it } from "vitest";
import { builtPlugin, runCli } from "../helpers/cli.ts";

describe("plugins/hello (example.hello)", () => {
  const hello = builtPlugin("hello");

  it("greets a non-ASCII name with the UTF-8 intact", async () => {
    const result = await runCli(["call", hello, "greet", "--input", '{"name":"Zoë"}']);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('{"message":"Hello, Zoë!"}\n');
  });

  it("escapes quotes and keeps astral characters", async () => {
    const result = await runCli([
      "call",
      hello,
      "greet",
      "--input",
      JSON.stringify({ name: 'A "😀" \\ B' }),
      "--json",
    ]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).output).toEqual({ message: 'Hello, A "😀" \\ B!' });
  });

  it("refuses input without a name against the schema (65), with a message that says what to send", async () => {
    const result = await runCli(["call", hello, "greet", "--input", '{"nom":"x"}', "--json"]);
    expect(result.code).toBe(65);
    const parsed = JSON.parse(result.stdout);
    expect(parsed.error.class).toBe("schema_mismatch");
    expect(parsed.error.message).toContain("must have required property 'name'");
  });

  it("refuses input that is not JSON (65)", async () => {
    const result = await runCli(["call", hello, "greet", "--input", "Zoë", "--json"]);
    expect(result.code).toBe(65);
    expect(JSON.parse(result.stdout).error.class).toBe("invalid_json");
    expect(JSON.parse(result.stdout).error.message).toContain("not valid JSON");
  });

  it("a plugin that refuses no input fails the run (1)", async () => {
    const result = await runCli(["call", hello, "greet", "--json"]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).error.class).toBe("plugin_error");
  });
});
