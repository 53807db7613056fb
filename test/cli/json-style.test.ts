/**
 * One `--json` style per kind of output (docs/cli.md): a result is one
 * compact JSON document on one line; a stream (`events`) is JSON Lines.
 */
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { builtPlugin, repoRoot, runCli } from "../helpers/cli.ts";

const home = mkdtempSync(join(tmpdir(), "plughost-json-style-"));
cpSync(join(repoRoot, ".plughost", "trust"), join(home, "trust"), { recursive: true });
afterAll(() => rmSync(home, { recursive: true, force: true }));
const env = { PLUGHOST_HOME: home };

describe("--json output", () => {
  it("is one compact document for results, lists included, with runId from call", async () => {
    const hello = builtPlugin("hello");
    // A call is recorded (and so has a runId) when given a database (docs/cli.md).
    const db = `file:${join(home, "host.db")}`;
    const call = await runCli(
      ["call", hello, "greet", "--input", '{"name":"j"}', "--db", db, "--json"],
      { env },
    );
    expect(call.code, call.stderr).toBe(0);
    const called = JSON.parse(call.stdout);
    expect(called).toMatchObject({ ok: true, output: { message: "Hello, j!" } });
    expect(called.runId).toMatch(/^[0-9A-Z]{26}$/);
    const results = [
      call,
      await runCli(["verify", hello, "--json"], { env }),
      await runCli(["inspect", hello, "--json"], { env }),
      await runCli(["doctor", "--json"], { env }),
      await runCli(["runs", "--json"], { env }),
      await runCli(["runs", "show", called.runId, "--json"], { env }),
      await runCli(["plugins", "--json"], { env }),
      await runCli(["tokens", "list", "--json"], { env }),
      await runCli(["schedules", "--json"], { env }),
    ];
    for (const result of results) {
      expect(result.stdout.endsWith("\n"), result.stdout).toBe(true);
      const lines = result.stdout.slice(0, -1).split("\n");
      expect(lines, result.stdout).toHaveLength(1);
      expect(() => JSON.parse(lines[0]!)).not.toThrow();
    }
  });

  it("is JSON Lines for the event stream", async () => {
    // Runs after the first test, whose recorded call wrote run events.
    const events = await runCli(["events", "--json", "--limit", "5"], { env });
    expect(events.code, events.stderr).toBe(0);
    const lines = events.stdout.trimEnd().split("\n");
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(JSON.parse(line)).toHaveProperty("type");
  });
});
