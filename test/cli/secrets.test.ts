/**
 * `host secrets set|unset|list` end to end: the value from stdin or
 * --value-file, never printed; list shows names and versions; a missing key
 * is exit 64, a bad name 65, unset of an unknown name 1; a running host sees
 * a set (and a rotation) on its next run without a restart.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outputOf, type TestHost, testHost } from "../capabilities/harness.ts";
import { ops, probeWasm, signedProbe } from "../capabilities/probe.ts";
import { runCli } from "../helpers/cli.ts";

const KEY = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
const VALUE = `cli-${crypto.randomUUID()}`;

describe("host secrets", () => {
  let home: string;
  let t: TestHost;
  const cli = (args: string[], stdin = "", env: Record<string, string> = {}) =>
    runCli(["secrets", ...args, "--home", home], {
      stdin,
      env: { PLUGHOST_SECRETS_KEY: KEY, ...env },
    });
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "plughost-secrets-cli-"));
    await probeWasm();
    t = await testHost({ secretsKey: () => KEY, secretsCacheMs: 0 }, home);
    await t.host.runtime.load(await signedProbe(t.key, "t.cli", { secrets: ["API_TOKEN"] }), "t");
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it("sets from stdin without echoing; the running host's next run reads it", async () => {
    const set = await cli(["set", "t.cli", "API_TOKEN"], `${VALUE}\n`);
    expect(set).toMatchObject({ code: 0, stdout: "set t.cli API_TOKEN (version 1)\n" });
    expect(set.stdout + set.stderr).not.toContain(VALUE);
    const out = outputOf(
      await t.call("t.cli", "run", ops({ secretIs: "API_TOKEN", value: VALUE })),
    );
    expect(out).toEqual([{ secretIs: true }]);
  }, 120_000);

  it("rotates with --value-file; lists names and versions, never values", async () => {
    const file = join(home, "value.txt");
    writeFileSync(file, "rotated-value");
    expect((await cli(["set", "t.cli", "API_TOKEN", "--value-file", file])).code).toBe(0);
    const out = outputOf(
      await t.call("t.cli", "run", ops({ secretIs: "API_TOKEN", value: "rotated-value" })),
    );
    expect(out).toEqual([{ secretIs: true }]);
    const list = await cli(["list", "--json"]);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).secrets).toMatchObject([
      { pluginId: "t.cli", name: "API_TOKEN", version: 2 },
    ]);
    expect(list.stdout).not.toContain("rotated-value");
    const text = await cli(["list", "t.cli"]);
    expect(text.stdout).toMatch(/^PLUGIN\s+NAME\s+VERSION\s+UPDATED\nt\.cli\s+API_TOKEN\s+2\s+/);
    const changed = await t.events({ type: "secret.changed" });
    expect(changed.map((e) => e.payload)).toEqual([
      { name: "API_TOKEN", action: "set", version: 1, by: "cli" },
      { name: "API_TOKEN", action: "set", version: 2, by: "cli" },
    ]);
  }, 120_000);

  it(
    "refuses a missing key (64), a bad name or empty value (65); unset of an unknown name is 1",
    async () => {
      const noKey = await cli(["set", "t.cli", "X"], "v", { PLUGHOST_SECRETS_KEY: "" });
      expect(noKey.code).toBe(64);
      expect(noKey.stderr).toContain("PLUGHOST_SECRETS_KEY is not set");
      expect((await cli(["set", "t.cli", "bad-name"], "v")).code).toBe(65);
      expect((await cli(["set", "t.cli", "X"], "\n")).code).toBe(65);
      expect((await cli(["unset", "t.cli", "NOPE"])).code).toBe(1);
      expect((await cli(["unset", "t.cli", "API_TOKEN"])).code).toBe(0);
      expect(JSON.parse((await cli(["list", "--json"])).stdout).secrets).toEqual([]);
    },
    120_000,
  );
});
