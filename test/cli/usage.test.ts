import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { VERSION } from "../../host/version.ts";
import { repoRoot, runCli } from "../helpers/cli.ts";

describe("host CLI usage", () => {
  it("prints the version, equal to package.json's", async () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
      version: string;
    };
    expect(VERSION).toBe(pkg.version);
    const result = await runCli(["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(pkg.version);
  });

  it("prints help to stdout with --help, listing commands", async () => {
    const result = await runCli(["--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Usage: host <command>");
    expect(result.stdout).toContain("call");
  });

  it("exits 64 with usage on stderr for an unknown command", async () => {
    const result = await runCli(["frobnicate"]);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain("unknown command 'frobnicate'");
    expect(result.stderr).toContain("Usage: host <command>");
    expect(result.stdout).toBe("");
  });

  it("exits 64 with the command's usage for an unknown flag", async () => {
    const result = await runCli(["call", "x.wasm", "run", "--frob"]);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain("--frob");
    expect(result.stderr).toContain("Usage: host call");
  });

  it("exits 64 with no command at all", async () => {
    const result = await runCli([]);
    expect(result.code).toBe(64);
  });

  it("exits 65 when the plugin file does not exist", async () => {
    const result = await runCli(["call", "no/such/file.wasm", "run"]);
    expect(result.code).toBe(65);
    expect(result.stderr).toContain("no such file");
  });
});
