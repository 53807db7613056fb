// docs/plugin-authoring.md, "From zero to deployed": its shell blocks, taken from the page, run
// as one bash script (new -> build -> test -> trust the key on a server -> upload -> call over
// HTTP -> runs and events -> host dev), with `host` on PATH and the server on a free port.
import { spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/cli.ts";

const page = await readFile(join(repoRoot, "docs", "plugin-authoring.md"), "utf8");
const work = await mkdtemp(join(tmpdir(), "plughost-guide-"));
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** The page's section under `## title`. */
function section(title: string): string {
  const start = page.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`docs/plugin-authoring.md has no "## ${title}"`);
  const end = page.indexOf("\n## ", start + 1);
  return page.slice(start, end < 0 ? undefined : end);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Runs a bash script in its own process group; kills the group (background jobs too) after. */
function bash(
  script: string,
  cwd: string,
  timeoutMs: number,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const env: Record<string, string> = { ...process.env as Record<string, string>, NO_COLOR: "1" };
    for (const name of Object.keys(env)) if (name.startsWith("PLUGHOST_")) delete env[name];
    env.PATH = `${join(work, "bin")}:${env.PATH}`;
    const child = spawn("bash", ["-c", script], {
      cwd,
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (out += c));
    const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch { /* the group is gone */ }
      resolve({ code, out });
    });
  });
}

describe("docs/plugin-authoring.md: from zero to deployed", () => {
  it(
    "every shell block of the section runs as written, and prints what the page says",
    async () => {
      const text = section("From zero to deployed");
      const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
      expect(blocks.length).toBeGreaterThanOrEqual(8);
      const port = await freePort();
      const script = ["set -euo pipefail", ...blocks].join("\n").replaceAll("8787", String(port));

      // `host` as an author has it: this checkout's CLI on PATH.
      await mkdir(join(work, "bin"));
      await writeFile(
        join(work, "bin", "host"),
        `#!/bin/sh\nexec "${process.execPath}" "${join(repoRoot, "bin", "host.mjs")}" "$@"\n`,
      );
      await chmod(join(work, "bin", "host"), 0o755);

      const { code, out } = await bash(script, work, 400_000);
      expect(code, out).toBe(0);
      // What the page says the commands print.
      expect(out).toMatch(/built build\/greeter\.wasm \(\d+ bytes\)/);
      expect(out).toMatch(/^ok +greets by name +fuel [\d,]+ +memory \d+ pages/m);
      expect(out).toContain("3 passed, 0 failed");
      expect(out).toMatch(/"id":"greeter"/);
      for (const expected of text.matchAll(/^# (\{.*\})$/gm)) expect(out).toContain(expected[1]);
      expect(out).toMatch(/"capability":"greet"/);
      expect(out).toMatch(/greeter\.greeted/);
      expect(out).toMatch(/uploaded greeter 0\.1\.0/);
      // The edit took effect through host dev: the source changed and the server served it.
      expect(await readFile(join(work, "greeter", "assembly", "index.ts"), "utf8")).toContain(
        "Howdy",
      );
    },
    420_000,
  );
});
