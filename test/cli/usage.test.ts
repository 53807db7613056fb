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

  it("exits 64 with one line and a pointer to --help for an unknown command", async () => {
    const result = await runCli(["frobnicate"]);
    expect(result.code).toBe(64);
    expect(result.stderr).toBe(
      "host: unknown command 'frobnicate'; run 'host --help' for the list of commands\n",
    );
    expect(result.stdout).toBe("");
  });

  it("refuses a plugin CPU share that is not a number of cores from 0.05, before serving", async () => {
    for (const bad of ["0", "-1", "abc", "1e3x", "0.001"]) {
      const result = await runCli(["serve", `--plugin-cpu=${bad}`, "--port", "0"]);
      expect([result.code, result.stderr.trim()]).toEqual([
        64,
        `host serve: --plugin-cpu takes a number of cores from 0.05 (e.g. 1 or 0.5), got '${bad}'\n` +
        "Run 'host serve --help' for its usage.",
      ]);
    }
  });

  it("suggests the full command for a subcommand given alone, and near names", async () => {
    const list = await runCli(["list"]);
    expect(list.code).toBe(64);
    expect(list.stderr).toBe(
      "host: unknown command 'list'; did you mean 'plugins list', 'schedules list', 'secrets list' or 'tokens list'?\n",
    );
    const typo = await runCli(["plugns"]);
    expect(typo.code).toBe(64);
    expect(typo.stderr).toBe("host: unknown command 'plugns'; did you mean 'plugins'?\n");
  });

  it("exits 64 naming the unknown flag, the nearest real one and --help", async () => {
    const result = await runCli(["call", "x.wasm", "run", "--frob"]);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain("unknown option '--frob'");
    expect(result.stderr).not.toContain("Usage: host call");
    const typo = await runCli(["runs", "--jsn"]);
    expect(typo.code).toBe(64);
    expect(typo.stderr).toBe(
      "host runs: unknown option '--jsn'; did you mean '--json'? (see --help)\n",
    );
    const missing = await runCli(["runs", "--limit"]);
    expect(missing.code).toBe(64);
    expect(missing.stderr).toContain("Run 'host runs --help' for its usage.");
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
