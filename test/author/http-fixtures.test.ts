/**
 * `host test` answers a plugin's HTTP from the case's "http" fixtures, never the
 * network: the manifest's allowedHosts still apply, a request with no fixture
 * fails as network_error, and each case sees only its own fixtures.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";

const work = mkdtempSync(join(tmpdir(), "plughost-http-fixtures-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const source =
  `import { fail, http, JSONObject, tryReadInputJson, writeOutputJson } from "@plughost/sdk-as";

export function fetch(): i32 {
  const input = tryReadInputJson();
  if (!input.ok) return fail("input is not valid JSON");
  const url = input.value!.getString("url");
  if (url === null) return fail("input needs a url");
  const response = http.get(url);
  if (!response.ok) return fail(response.error!.toString());
  writeOutputJson(
    new JSONObject().setNumber("status", <f64> response.value.status)
      .setString("body", response.value.text()),
  );
  return 0;
}
`;

const cases = {
  cases: [
    {
      name: "answered by its fixture",
      capability: "fetch",
      input: { url: "https://api.example.com/v1/weather?city=Oslo" },
      http: [{
        url: "https://api.example.com/v1/weather?city=Oslo",
        status: 200,
        body: { temp: -3 },
      }],
      output: { status: 200, body: '{"temp":-3}' },
    },
    {
      name: "a status other than 200",
      capability: "fetch",
      input: { url: "https://api.example.com/missing" },
      http: [{ url: "https://api.example.com/missing", status: 404, body: "not here" }],
      output: { status: 404, body: "not here" },
    },
    {
      name: "no fixture for this URL (the previous case's are gone)",
      capability: "fetch",
      input: { url: "https://api.example.com/v1/weather?city=Oslo" },
      error: "network_error",
    },
    {
      name: "a host outside allowedHosts is refused even with a fixture",
      capability: "fetch",
      input: { url: "https://evil.example.net/" },
      http: [{ url: "https://evil.example.net/", body: "x" }],
      error: "permission_denied",
    },
  ],
};

describe("host test: HTTP fixtures", () => {
  it("answers from the case's fixtures, refuses the rest, and reports each", async () => {
    expect((await runCli(["new", "weather", "--lang", "as"], { cwd: work })).code).toBe(0);
    const dir = join(work, "weather");
    const manifest = JSON.parse(await readFile(join(dir, "plugin.json"), "utf8"));
    manifest.capabilities = {
      fetch: {
        export: "fetch",
        description: "GETs {url}",
        input: { type: "object", properties: { url: { type: "string" } }, required: ["url"] },
        output: { type: "object" },
      },
    };
    manifest.permissions = { http: { allowedHosts: ["api.example.com"] } };
    await writeFile(join(dir, "plugin.json"), JSON.stringify(manifest, null, 2));
    await writeFile(join(dir, "assembly", "index.ts"), source);
    await writeFile(join(dir, "plugin.test.json"), JSON.stringify(cases, null, 2));

    const run = await runCli(["test", "--json"], { cwd: dir, timeoutMs: 180_000 });
    const report = JSON.parse(run.stdout) as {
      ok: boolean;
      cases: { name: string; ok: boolean }[];
    };
    expect(report.cases.map((r) => [r.name, r.ok])).toEqual(cases.cases.map((c) => [c.name, true]));
    expect(report.ok).toBe(true);
    expect(run.code).toBe(0);

    // The same project with a wrong expectation fails, showing what the fixture answered.
    cases.cases[0]!.output = { status: 200, body: '{"temp":20}' };
    await writeFile(join(dir, "plugin.test.json"), JSON.stringify(cases, null, 2));
    const failing = await runCli(["test", "--no-build"], { cwd: dir, timeoutMs: 180_000 });
    expect(failing.code).toBe(1);
    expect(failing.stdout + failing.stderr).toContain('{\\"temp\\":-3}');
  }, 300_000);
});
