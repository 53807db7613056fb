/**
 * Walks the quick paths of README.md and docs/README.md as a new user would:
 * every command shown in an `sh` block is run from the checkout (the CLI with
 * a scratch PLUGHOST_HOME that trusts the checkout's dev key), and where the
 * doc shows output (`# ...` lines under a command) the output must match.
 * `npm start` is started on a free port and the curl it prints is run. The
 * few commands a test cannot run (the whole suite, `npm install`) are listed
 * by name with the reason, so a new command in the docs fails until it is
 * either walked or named here.
 */
import { spawn, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/cli.ts";

/** Commands the walk does not run, and why (each must still appear in the docs). */
const notRun: Record<string, string> = {
  "npm install": "installs from the registry; the checkout running this test is installed",
  "npm test": "the whole suite (this test is part of it)",
  "npx deno task test": "the whole suite under Deno (this test is part of it)",
};

interface Step {
  doc: string;
  command: string;
  /** The output the doc shows under the command (`# ` lines), if any. */
  expected?: string;
}

/** The commands of every `sh` block in `doc`, with the output shown under each. */
function steps(doc: string): Step[] {
  const text = readFileSync(join(repoRoot, doc), "utf8");
  const out: Step[] = [];
  for (const [, block] of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block!.split("\n")) {
      if (line.trim() === "") continue;
      const shown = /^# ?(.*)$/.exec(line);
      const last = out.at(-1);
      if (shown) {
        if (last) {
          last.expected = last.expected === undefined ? shown[1] : `${last.expected}\n${shown[1]}`;
        }
        continue;
      }
      for (const command of line.split(" && ")) out.push({ doc, command: command.trim() });
    }
  }
  return out;
}

const walked = [...steps("README.md"), ...steps("docs/README.md")];
const home = mkdtempSync(join(tmpdir(), "plughost-docs-walk-"));
cpSync(join(repoRoot, ".plughost", "trust"), join(home, "trust"), { recursive: true });
afterAll(() => rmSync(home, { recursive: true, force: true }));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** `npm start` as the README says, on a free port; runs the curl it prints, then Ctrl-C. */
async function walkNpmStart(): Promise<void> {
  const port = await freePort();
  // The checkout's own .plughost, as a new user's npm start uses it (its dev token stays valid).
  const child = spawn("npm", ["start"], {
    cwd: repoRoot,
    env: { ...process.env, PORT: String(port), NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let stdout = "";
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  try {
    const ready = await new Promise<string>((resolve, reject) => {
      child.stdout!.setEncoding("utf8").on("data", (c: string) => {
        stdout += c;
        if (stdout.includes("Ctrl-C stops.")) resolve(stdout);
      });
      void exited.then((code) => reject(new Error(`npm start exited ${code}: ${stderr}`)));
    });
    // The first curl it prints, run as printed (continuation lines joined).
    const curl = /(curl -i -X POST [^\n]*\\\n[^\n]*)/.exec(ready)?.[1];
    expect(curl, ready).toBeDefined();
    const run = spawnSync("bash", ["-c", curl!.replace("\\\n", " ")], { encoding: "utf8" });
    expect(run.stdout).toMatch(/^HTTP\/1\.1 200/);
    expect(run.stdout).toContain('{"message":"Hello, world!"}');
  } finally {
    // npm runs the script in a process group of its own: stop the group, as Ctrl-C does.
    if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, "SIGINT");
  }
  await exited;
}

describe("the docs' quick paths, walked", () => {
  it("finds the commands of README.md and docs/README.md", () => {
    expect(walked.map((s) => s.command)).toContain("npm start");
    for (const command of Object.keys(notRun)) {
      expect(walked.map((s) => s.command), `${command} is no longer in the docs`).toContain(
        command,
      );
    }
  });

  for (const step of walked) {
    const reason = notRun[step.command];
    if (reason !== undefined) {
      it.skip(`${step.doc}: ${step.command} (not run: ${reason})`, () => {});
      continue;
    }
    it(`${step.doc}: ${step.command}`, async () => {
      if (step.command === "npm start") return await walkNpmStart();
      const result = spawnSync("bash", ["-c", step.command], {
        cwd: repoRoot,
        env: { ...process.env, PLUGHOST_HOME: home, NO_COLOR: "1" },
        encoding: "utf8",
        timeout: 120_000,
      });
      expect(result.status, `${step.command}\n${result.stderr}`).toBe(0);
      if (step.expected !== undefined) expect(result.stdout.trimEnd()).toBe(step.expected);
    }, 180_000);
  }
});
