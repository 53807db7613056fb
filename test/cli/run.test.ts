/**
 * `host run`: the CLI generated from a capability's input schema, in process
 * against a real data directory (plugins installed with `host install`).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../host/cli/main.ts";
import { flagsOf, inputFromFlags } from "../../host/cli/schema-flags.ts";
import { openStore } from "../../host/store/mod.ts";
import { builtPlugin, repoRoot } from "../helpers/cli.ts";

let dir: string;
let home: string;

async function host(args: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    env: { PLUGHOST_HOME: home },
    cwd: dir,
  });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "plughost-run-"));
  home = join(dir, "home");
  cpSync(join(repoRoot, ".plughost", "trust"), join(home, "trust"), { recursive: true });
  const installed = await host(["install", builtPlugin("hello"), builtPlugin("inventory")]);
  expect(installed.code, installed.stderr).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("host run", () => {
  it("runs example.hello greet --name Ada through the one invoke (trigger cli)", async () => {
    const result = await host(["run", "example.hello", "greet", "--name", "Ada", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const answer = JSON.parse(result.stdout) as { output: unknown; runId: string };
    expect(answer.output).toEqual({ message: "Hello, Ada!" });
    const store = await openStore({ url: `file:${join(home, "host.db")}` });
    try {
      expect(await store.runs.get(answer.runId)).toMatchObject({
        pluginId: "example.hello",
        capability: "greet",
        trigger: "cli",
        status: "ok",
      });
    } finally {
      await store.close();
    }
    const plain = await host(["run", "example.hello", "greet", "--name=Zoë"]);
    expect(plain).toMatchObject({ code: 0, stdout: '{"message":"Hello, Zoë!"}\n' });
  });

  it("generates --help from the input schema: --name is required", async () => {
    const help = await host(["run", "example.hello", "greet", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: host run example.hello greet --name STRING");
    expect(help.stdout).toMatch(/^ {2}--name STRING +\(required\)$/m);
    expect(help.stdout).toContain("Returns a greeting for a name");
    const general = await host(["run", "--help"]);
    expect(general.stdout).toContain("Usage: host run <plugin> <capability>");
  });

  it("validates before calling: 65 naming the field, 64 for a flag the schema lacks", async () => {
    const missing = await host(["run", "example.hello", "greet"]);
    expect(missing.code).toBe(65);
    expect(missing.stderr).toContain("--name is required");
    const short = await host(["run", "example.hello", "greet", "--name", ""]);
    expect(short.code).toBe(65);
    expect(short.stderr).toContain("--name must NOT have fewer than 1 characters");
    const typo = await host(["run", "example.hello", "greet", "--nam", "x"]);
    expect(typo.code).toBe(64);
    expect(typo.stderr).toContain("Unknown field flag --nam: this capability's fields are --name");
    const absent = await host(["run", "example.nope", "greet"]);
    expect(absent.code).toBe(1);
    expect(absent.stderr).toContain("No plugin 'example.nope' is installed");
    const limit = await host(["run", "example.inventory", "inventory.list", "--limit", "two"]);
    expect(limit.code).toBe(65);
    expect(limit.stderr).toContain("--limit takes an integer, got 'two'");
  });

  it("merges --input with field flags", async () => {
    const result = await host([
      "run",
      "example.inventory",
      "inventory.filter",
      "--input",
      '{"group":"prod"}',
      "--name",
      "db",
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).items.map((h: { id: string }) => h.id)).toEqual(["db-1"]);
  });
});

describe("flags from a schema", () => {
  const schema = {
    type: "object",
    properties: {
      mode: { type: "string", enum: ["fast", "safe"], default: "safe", description: "How" },
      retries: { type: "integer", minimum: 0 },
      dry: { type: "boolean" },
      tags: { type: "array", items: { type: "string" } },
      target: {
        type: "object",
        properties: { host: { type: "string" }, port: { type: "integer" } },
        required: ["host"],
      },
      extra: {},
    },
    required: ["target"],
  };

  it("names nested fields with dots and carries type, required, enum, default, description", () => {
    expect(flagsOf(schema).map((f) => [f.name, f.type, f.required])).toEqual([
      ["mode", "string", false],
      ["retries", "integer", false],
      ["dry", "boolean", false],
      ["tags", "array", false],
      ["target.host", "string", true],
      ["target.port", "integer", false],
      ["extra", "json", false],
    ]);
    expect(flagsOf(schema)[0]).toMatchObject({
      enum: ["fast", "safe"],
      default: "safe",
      description: "How",
    });
  });

  it("parses each type, repeated arrays, --no- booleans and JSON fields", () => {
    expect(inputFromFlags(schema, [
      "--target.host",
      "a.example",
      "--target.port=22",
      "--tags",
      "x",
      "--tags",
      '["y","z"]',
      "--no-dry",
      "--retries",
      "3",
      "--extra",
      '{"k":1}',
    ])).toEqual({
      target: { host: "a.example", port: 22 },
      tags: ["x", "y", "z"],
      dry: false,
      retries: 3,
      extra: { k: 1 },
    });
    expect(inputFromFlags(schema, ["--dry", "--target.host", "h"])).toEqual({
      dry: true,
      target: { host: "h" },
    });
  });

  it("refuses what the schema refuses, naming the flag", () => {
    expect(() => inputFromFlags(schema, ["--target.port", "1"])).toThrow(
      "--target.host is required",
    );
    expect(() => inputFromFlags(schema, ["--target.host", "h", "--mode", "slow"])).toThrow(
      "--mode must be equal to one of the allowed values",
    );
    expect(() => inputFromFlags(schema, ["--target.host", "h", "--retries", "-1"])).toThrow(
      "--retries must be >= 0",
    );
  });
});

describe("host run --server", () => {
  it("runs over the HTTP API; --follow prints the async run's progress, then the output", async () => {
    const { createHost } = await import("../../host/host.ts");
    const { startServer } = await import("../../host/server/start.ts");
    const served = await createHost({
      home: join(dir, "served"),
      paths: { trust: join(home, "trust") },
      cache: false,
    });
    await served.install(new Uint8Array(readFileSync(builtPlugin("steps"))));
    const server = await startServer({ host: served, port: 0 });
    try {
      const { token } = await served.store.tokens.create({
        name: "run",
        scopes: ["invoke", "read"],
      });
      const base = ["run", "example.steps", "count", "--server", server.url, "--token", token];
      const help = await host([...base, "--help"]);
      expect(help.stdout).toMatch(/^ {2}--to INTEGER +Last number \(required\)$/m);
      const followed = await host([...base, "--to", "2", "--label", "lap", "--follow"]);
      expect(followed.code, followed.stderr).toBe(0);
      // A call re-run after its main-thread slice (docs/sandbox.md) logs and reports again, so
      // the last lines are the ones that count.
      expect(followed.stderr).toContain("log info: counting to 2\n");
      expect(followed.stderr.split("\n").filter((l) => l.startsWith("progress")).slice(-2))
        .toEqual(["progress 50%: lap 1", "progress 100%: lap 2"]);
      expect(JSON.parse(followed.stdout)).toEqual({ counted: 2 });
      const plain = await host([...base, "--to", "1", "--json"]);
      expect(JSON.parse(plain.stdout)).toMatchObject({ ok: true, output: { counted: 1 } });
      const refused = await host([...base, "--to", "0"]);
      expect(refused.code).toBe(65);
      expect(refused.stderr).toContain("--to must be >= 1");
    } finally {
      await server.close();
      await served.close();
    }
  });
});
