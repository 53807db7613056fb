/**
 * The exit-code matrix in docs/cli.md ("Exit codes by command") covers every
 * command of the CLI's command table, lists only real exit codes, and each
 * command answers an unknown flag with 64 as its row says.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { commands } from "../../host/cli/commands.ts";
import { main } from "../../host/cli/main.ts";
import { ExitCode } from "../../host/errors.ts";

const known = new Set<number>(Object.values(ExitCode));

/** command -> its exit codes, from the matrix in docs/cli.md. */
function matrix(): Map<string, number[]> {
  const text = readFileSync(new URL("../../docs/cli.md", import.meta.url), "utf8");
  const start = text.indexOf("### Exit codes by command");
  expect(start, "docs/cli.md has no '### Exit codes by command' section").toBeGreaterThan(0);
  const rows = new Map<string, number[]>();
  for (const line of text.slice(start).split("\n").slice(1)) {
    if (line.startsWith("#")) break;
    const m = /^\|\s*`([a-z-]+)`\s*\|\s*([\d, ]+)\|/.exec(line);
    if (m) rows.set(m[1]!, m[2]!.split(",").map((c) => Number(c.trim())));
  }
  return rows;
}

describe("exit-code matrix (docs/cli.md)", () => {
  const rows = matrix();

  it("has a row for every command in host/cli/commands.ts", () => {
    const missing = Object.keys(commands).filter((name) => !rows.has(name));
    expect(
      missing,
      `add a row to the exit-code matrix in docs/cli.md for: ${missing.join(", ")}`,
    ).toEqual([]);
    const stale = [...rows.keys()].filter((name) => !Object.hasOwn(commands, name));
    expect(stale, `rows for commands that do not exist: ${stale.join(", ")}`).toEqual([]);
  });

  it("lists only the host's exit codes, with 0, 64 and 92 in every row", () => {
    for (const [name, codes] of rows) {
      for (const code of codes) {
        expect(known.has(code), `${name}: ${code} is no ExitCode`).toBe(true);
      }
      expect(codes, name).toEqual(expect.arrayContaining([0, 64, 92]));
    }
  });

  it("every command answers an unknown flag with 64", async () => {
    for (const name of Object.keys(commands)) {
      const code = await main([name, "--no-such-flag-here"], {
        stdout: () => {},
        stderr: () => {},
        env: {},
        cwd: "/nonexistent-plughost-dir",
      });
      expect(code, `host ${name} --no-such-flag-here`).toBe(64);
      expect(rows.get(name) ?? [], name).toContain(code);
    }
  });
});
