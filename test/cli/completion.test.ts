/**
 * `host completion`: scripts generated from the command table. The bash one is
 * run in a real bash (when present) to complete commands, subcommands and flags.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Buffer } from "node:buffer";
import { commands } from "../../host/cli/commands.ts";
import { allSpecs } from "../../host/cli/spec.ts";
import { runCli } from "../helpers/cli.ts";

const hasBash = spawnSync("bash", ["--version"]).status === 0;

describe("host completion", () => {
  it("reads every command's subcommands and flags from its usage", async () => {
    const specs = await allSpecs(commands);
    expect(specs.map((s) => s.name)).toEqual(Object.keys(commands));
    const plugins = specs.find((s) => s.name === "plugins")!;
    expect(plugins.subcommands.slice(0, 4)).toEqual(["list", "enable", "disable", "remove"]);
    expect(specs.find((s) => s.name === "call")!.subcommands).toEqual([]);
    expect(specs.find((s) => s.name === "serve")!.flags).toContain("--private-openapi");
  });

  it.skipIf(!hasBash)("completes commands, subcommands and flags in bash", async () => {
    const result = await runCli(["completion", "bash"]);
    expect(result.code).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), "plughost-completion-"));
    try {
      const file = join(dir, "host.bash");
      writeFileSync(file, result.stdout);
      const complete = (...words: string[]) => {
        const script = `source ${file}; COMP_WORDS=(${
          words.map((w) => `'${w}'`).join(" ")
        }); COMP_CWORD=${words.length - 1}; _host_complete; echo "\${COMPREPLY[*]}"`;
        const run = spawnSync("bash", ["-c", script]);
        expect(Buffer.from(run.stderr).toString()).toBe("");
        return Buffer.from(run.stdout).toString().trim();
      };
      expect(complete("host", "plu")).toBe("plugins");
      expect(complete("host", "plugins", "")).toMatch(/^list enable disable remove .*--db /);
      expect(complete("host", "serve", "--priv")).toBe("--private-openapi");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("prints zsh and fish scripts for the same table, and refuses other shells", async () => {
    const zsh = await runCli(["completion", "zsh"]);
    expect(zsh.code).toBe(0);
    expect(zsh.stdout).toMatch(/^#compdef host\n/);
    expect(zsh.stdout).toContain("plugins) args=(list enable disable remove ");
    const fish = await runCli(["completion", "fish", "--name", "plughost"]);
    expect(fish.code).toBe(0);
    expect(fish.stdout).toContain("complete -c plughost -f -n __fish_use_subcommand -a plugins");
    expect(fish.stdout).toContain(
      "complete -c plughost -f -n '__fish_seen_subcommand_from plugins' -a 'list enable disable remove",
    );
    const bad = await runCli(["completion", "powershell"]);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain("Unknown shell 'powershell': use bash, zsh or fish");
  });
});
