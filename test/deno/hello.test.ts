// The hello plugin and an Extism conformance plugin, called through the real CLI code under Deno.
import assert from "node:assert/strict";
import { main } from "../../host/cli/main.ts";
import type { CliIo } from "../../host/cli/command.ts";

const root = new URL("../../", import.meta.url).pathname;

async function host(args: string[]) {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    env: {},
    cwd: root,
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

Deno.test("hello greets a non-ASCII name on Deno", async () => {
  const result = await host([
    "call",
    "build/plugins/hello.wasm",
    "greet",
    "--input",
    '{"name":"Zoë"}',
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, '{"message":"Hello, Zoë!"}\n');
});

Deno.test("a failing call exits 1 with the plugin's message on Deno", async () => {
  // No input: nothing for the schema to check, the plugin itself refuses it.
  const result = await host(["call", "build/plugins/hello.wasm", "greet", "--json"]);
  assert.equal(result.code, 1);
  const parsed = JSON.parse(result.stdout);
  assert.equal(parsed.ok, false);
  assert.equal(parsed.error.class, "plugin_error");
  assert.match(parsed.error.message, /not valid JSON/);
});

Deno.test("input off the schema exits 65 with the schema message on Deno", async () => {
  const args = ["call", "build/plugins/hello.wasm", "greet", "--input"];
  const off = await host([...args, '{"nam":"x"}']);
  assert.equal(off.code, 65);
  assert.match(off.stderr, /does not match the input schema of example.hello\/greet/);
  assert.equal((await host([...args, "{bad"])).code, 65);
});

Deno.test("an unknown command exits 64 on Deno", async () => {
  const result = await host(["frobnicate"]);
  assert.equal(result.code, 64);
});
