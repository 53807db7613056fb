/**
 * `host test` stores a case's "config" as the plugin's config for that case:
 * config_get answers it over the manifest default, the next case without one
 * sees the default again, and a config off the schema fails its case naming
 * the field.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";

const work = mkdtempSync(join(tmpdir(), "plughost-config-fixtures-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const source =
  `import { config, fail, JSONObject, tryReadInputJson, writeOutputJson } from "@plughost/sdk-as";

export function greet(): i32 {
  const input = tryReadInputJson();
  if (!input.ok) return fail("input is not valid JSON");
  const greeting = config.get("greeting");
  if (!greeting.ok) return fail(greeting.error!.toString());
  const times = config.get("times");
  if (!times.ok) return fail(times.error!.toString());
  writeOutputJson(
    new JSONObject().setString("message", greeting.value.asString() + ", " + input.value!.getString("name")! + "!")
      .setNumber("times", times.value.asNumber()),
  );
  return 0;
}
`;

const cases = {
  cases: [
    {
      name: "the default",
      capability: "greet",
      input: { name: "Ada" },
      output: { message: "Hello, Ada!", times: 1 },
    },
    {
      name: "a case's config over the default",
      capability: "greet",
      input: { name: "Ada" },
      config: { greeting: "Hej" },
      output: { message: "Hej, Ada!", times: 1 },
    },
    {
      name: "the next case sees the default again",
      capability: "greet",
      input: { name: "Ada" },
      output: { message: "Hello, Ada!", times: 1 },
    },
  ],
};

describe("host test: config fixtures", () => {
  it("gives each case its config, and refuses a config off the schema", async () => {
    expect((await runCli(["new", "greeter", "--lang", "as"], { cwd: work })).code).toBe(0);
    const dir = join(work, "greeter");
    const manifest = JSON.parse(await readFile(join(dir, "plugin.json"), "utf8"));
    manifest.capabilities = {
      greet: {
        export: "greet",
        description: "Greets {name} with the configured greeting",
        input: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
        output: { type: "object" },
      },
    };
    delete manifest.permissions;
    delete manifest.hooks;
    manifest.config = {
      schema: {
        type: "object",
        properties: {
          greeting: { type: "string", minLength: 1 },
          times: { type: "integer", minimum: 1 },
        },
        additionalProperties: false,
      },
      default: { greeting: "Hello", times: 1 },
    };
    await writeFile(join(dir, "plugin.json"), JSON.stringify(manifest, null, 2));
    await writeFile(join(dir, "assembly", "index.ts"), source);
    await writeFile(join(dir, "plugin.test.json"), JSON.stringify(cases, null, 2));

    const run = await runCli(["test", "--json"], { cwd: dir, timeoutMs: 180_000 });
    const report = JSON.parse(run.stdout) as {
      ok: boolean;
      cases: { name: string; ok: boolean; failure?: string }[];
    };
    expect(report.cases.map((r) => [r.name, r.ok, r.failure])).toEqual(
      cases.cases.map((c) => [c.name, true, undefined]),
    );
    expect(run.code).toBe(0);

    const bad = {
      cases: [{ ...cases.cases[1]!, name: "off the schema", config: { times: 0 } }],
    };
    await writeFile(join(dir, "plugin.test.json"), JSON.stringify(bad, null, 2));
    const failing = await runCli(["test", "--no-build"], { cwd: dir, timeoutMs: 180_000 });
    expect(failing.code).toBe(1);
    expect(failing.stdout + failing.stderr).toContain("/times must be >= 1");
  }, 300_000);
});
