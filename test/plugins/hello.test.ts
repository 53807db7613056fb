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

  it("refuses input without a name, with a message that says what to send", async () => {
    const result = await runCli(["call", hello, "greet", "--input", '{"nom":"x"}', "--json"]);
    expect(result.code).toBe(1);
    const parsed = JSON.parse(result.stdout);
    expect(parsed.error.class).toBe("plugin_error");
    expect(parsed.error.message).toContain('needs a string "name"');
  });

  it("refuses input that is not JSON", async () => {
    const result = await runCli(["call", hello, "greet", "--input", "Zoë", "--json"]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).error.message).toContain("not valid JSON");
  });
});
