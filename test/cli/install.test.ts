import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, runCli } from "../helpers/cli.ts";

describe("host install and host plugins", () => {
  let home: string;
  let signed: string;
  const env = () => ({ PLUGHOST_HOME: home });
  const host = (args: string[]) => runCli(args, { env: env() });

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "plughost-cli-install-"));
    const key = join(home, "keys", "operator");
    expect((await host(["keygen", "--out", key, "--trust", join(home, "trust")])).code).toBe(0);
    signed = join(home, "hello.wasm");
    const sign = await host([
      "sign",
      join(repoRoot, "build", "plugins", "hello.raw.wasm"),
      "--key",
      `${key}.key`,
      "--manifest",
      join(repoRoot, "plugins", "hello", "plugin.json"),
      "--out",
      signed,
    ]);
    expect(sign.code, sign.stderr).toBe(0);
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it("installs a signed plugin, refuses a reinstall of the same version, and lists it", async () => {
    const first = await host(["install", signed, "--json"]);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)[0]).toMatchObject({ id: "example.hello", version: "1.0.0" });

    const again = await host(["install", signed]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("1.0.0 is not higher");
    expect((await host(["install", signed, "--force"])).code).toBe(0);

    const list = await host(["plugins", "--json"]);
    expect(JSON.parse(list.stdout).plugins).toMatchObject([
      { id: "example.hello", state: "enabled", source: "installed" },
    ]);
  });

  it("disables and removes, and says so when the plugin is not installed", async () => {
    expect((await host(["plugins", "disable", "example.hello"])).code).toBe(0);
    expect(JSON.parse((await host(["plugins", "--json"])).stdout).plugins[0].state)
      .toBe("disabled");
    expect((await host(["plugins", "remove", "example.hello"])).code).toBe(0);
    const missing = await host(["plugins", "remove", "example.hello"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("No plugin 'example.hello' is installed");
  });

  it("refuses an unsigned module, and usage errors exit 64", async () => {
    const unsigned = await host(["install", join(repoRoot, "build", "plugins", "hello.raw.wasm")]);
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toContain("no_manifest");
    expect((await host(["install"])).code).toBe(64);
    expect((await host(["plugins", "frob"])).code).toBe(64);
  });
});
