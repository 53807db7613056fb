/**
 * `host call` records where `host runs` reads: inside a data directory its
 * database, so a call made by hand shows up in `host runs` with no flags;
 * `--scratch` (or no data directory) keeps nothing.
 */
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { builtPlugin, repoRoot, runCli } from "../helpers/cli.ts";

const cwd = mkdtempSync(join(tmpdir(), "plughost-call-records-"));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));
const env = { PLUGHOST_HOME: "", PLUGHOST_DB: "", PLUGHOST_TRUST: "" };

describe("host call and the data directory", () => {
  it("without a data directory: nothing is kept and --json has no runId", async () => {
    const call = await runCli(
      [
        "call",
        builtPlugin("hello"),
        "greet",
        "--input",
        '{"name":"a"}',
        "--json",
        "--trust",
        join(repoRoot, ".plughost", "trust"),
      ],
      { cwd, env },
    );
    expect(call.code).toBe(0);
    expect(JSON.parse(call.stdout).runId).toBeUndefined();
  });

  it("inside a data directory: the run is in host runs, and --scratch keeps nothing", async () => {
    cpSync(join(repoRoot, ".plughost", "trust"), join(cwd, ".plughost", "trust"), {
      recursive: true,
    });
    const call = await runCli(
      ["call", builtPlugin("hello"), "greet", "--input", '{"name":"b"}', "--json"],
      { cwd, env },
    );
    expect(call.code).toBe(0);
    const runId = JSON.parse(call.stdout).runId as string;
    expect(runId).toMatch(/^[0-9A-Z]{26}$/);
    const scratch = await runCli(
      ["call", builtPlugin("hello"), "greet", "--input", '{"name":"c"}', "--json", "--scratch"],
      { cwd, env },
    );
    expect(JSON.parse(scratch.stdout).runId).toBeUndefined();
    const runs = await runCli(["runs", "--json"], { cwd, env });
    expect(runs.code).toBe(0);
    const ids = JSON.stringify(JSON.parse(runs.stdout));
    expect(ids).toContain(runId);
    expect((ids.match(/"trigger":"cli"/g) ?? []).length).toBe(1);
  });

  it("refuses --db with --scratch (64)", async () => {
    const both = await runCli(
      ["call", builtPlugin("hello"), "greet", "--db", "file:x.db", "--scratch"],
      { cwd, env },
    );
    expect(both.code).toBe(64);
    expect(both.stderr).toContain("either --db or --scratch");
  });
});
