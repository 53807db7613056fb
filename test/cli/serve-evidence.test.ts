/**
 * `host serve`'s evidence triggers: the --evidence-* flags and the config
 * file's `evidence` section merge (flags win) into createHost's option, and
 * bad values are refused before anything opens: 64 for flags, 65 for the
 * config file, each with a message naming what was wrong.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../host/cli/main.ts";
import { evidenceOptions } from "../../host/cli/serve-evidence.ts";

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "plughost-serve-evidence-"));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

async function serve(args: string[]): Promise<{ code: number; stderr: string }> {
  const err: string[] = [];
  const code = await main(["serve", ...args], {
    stdout: () => {},
    stderr: (t) => void err.push(t),
    env: { PLUGHOST_HOME: home },
    cwd: home,
  });
  return { code, stderr: err.join("") };
}

async function config(value: unknown): Promise<string> {
  const file = join(home, "serve.json");
  await writeFile(file, JSON.stringify(value));
  return file;
}

describe("host serve evidence options", () => {
  it("merge flags over the config file, field by field; relative folders resolve against cwd", () => {
    expect(evidenceOptions({}, undefined, home, undefined)).toBeUndefined();
    expect(evidenceOptions({}, { onRunFailed: "*", dir: "ev" }, home, "c.json")).toEqual({
      dir: join(home, "ev"),
      onRunFailed: ["*"],
      onSuspended: false,
    });
    expect(
      evidenceOptions(
        { "evidence-on-failed": ["trap,timeout", "plugin_error"], "evidence-dir": "/tmp/x" },
        { dir: "ev", onRunFailed: ["fuel_exhausted"], onSuspended: true },
        home,
        "c.json",
      ),
    ).toEqual({
      dir: "/tmp/x",
      onRunFailed: ["trap", "timeout", "plugin_error"],
      onSuspended: true,
    });
    expect(evidenceOptions({ "evidence-on-suspended": true }, { dir: "ev" }, home, "c.json"))
      .toEqual({ dir: join(home, "ev"), onSuspended: true });
  });

  it("refuses bad flags with exit 64 before opening anything", async () => {
    const noDir = await serve(["--evidence-on-suspended"]);
    expect(noDir.code).toBe(64);
    expect(noDir.stderr).toMatch(/need a folder for the bundles: --evidence-dir DIR/);
    const noTrigger = await serve(["--evidence-dir", "ev"]);
    expect(noTrigger.code).toBe(64);
    expect(noTrigger.stderr).toMatch(/an evidence folder alone writes nothing/);
    const badClass = await serve(["--evidence-dir", "ev", "--evidence-on-failed", "trap,trapp"]);
    expect(badClass.code).toBe(64);
    expect(badClass.stderr).toMatch(/unknown error class 'trapp': did you mean 'trap'\?/);
  });

  it("refuses a bad config section with exit 65, naming the file and the field", async () => {
    const badClass = await serve([
      "--config",
      await config({ evidence: { dir: "ev", onRunFailed: ["oops"] } }),
    ]);
    expect(badClass.code).toBe(65);
    expect(badClass.stderr).toMatch(/serve\.json' is invalid/);
    expect(badClass.stderr).toMatch(/unknown error class 'oops'/);
    expect(badClass.stderr).toMatch(/evidence\.onRunFailed/);
    const wrongType = await serve(["--config", await config({ evidence: { onSuspended: "yes" } })]);
    expect(wrongType.code).toBe(65);
    expect(wrongType.stderr).toMatch(/evidence\.onSuspended/);
    const unknownKey = await serve(["--config", await config({ evidence: { folder: "ev" } })]);
    expect(unknownKey.code).toBe(65);
    expect(unknownKey.stderr).toMatch(/folder/);
    const noDir = await serve(["--config", await config({ evidence: { onSuspended: true } })]);
    expect(noDir.code).toBe(65);
    expect(noDir.stderr).toMatch(/serve\.json': evidence triggers need a folder/);
  });
});
