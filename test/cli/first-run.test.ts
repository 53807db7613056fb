/**
 * What a new operator meets on a fresh data directory: doctor's hint works
 * when followed, `tokens list` has a header, a bare `host serve` names what is
 * missing, and `host plugins` shows what a running server loaded from
 * `--plugins` (and stops showing it once that server stopped).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { afterEach, describe, expect, it } from "vitest";
import { repoRoot, runCli } from "../helpers/cli.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function freshHome(): string {
  const dir = mkdtempSync(join(tmpdir(), "plughost-first-run-"));
  dirs.push(dir);
  return dir;
}

interface Serving {
  child: ChildProcess;
  listening: { url: string; hints: { missing: string }[] };
  exited: Promise<number | null>;
  stderr: () => string;
}

/** Starts `host serve --port 0 --json ...args` and waits for its listening line. */
async function serve(home: string, args: string[]): Promise<Serving> {
  const child = spawn(process.execPath, [
    join(repoRoot, "bin", "host.mjs"),
    "serve",
    "--port",
    "0",
    "--json",
    ...args,
  ], { env: { ...process.env, PLUGHOST_HOME: home, NO_COLOR: "1" }, stdio: "pipe" });
  let stdout = "";
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  const listening = await new Promise<Serving["listening"]>((resolve, reject) => {
    child.stdout!.setEncoding("utf8").on("data", (c: string) => {
      stdout += c;
      const line = stdout.split("\n").find((l) => l.includes('"listening"'));
      if (line) resolve(JSON.parse(line));
    });
    void exited.then((code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
  });
  return { child, listening, exited, stderr: () => stderr };
}

describe("first run on a fresh data directory", () => {
  it("doctor's hint creates the database when followed; tokens list has a header", async () => {
    const home = freshHome();
    const env = { PLUGHOST_HOME: home };
    const before = await runCli(["doctor"], { env });
    expect(before.code).toBe(1);
    const hint = /'(host tokens list)'/.exec(before.stdout)?.[1];
    expect(hint, before.stdout).toBe("host tokens list");
    const followed = await runCli(hint!.split(" ").slice(1), { env });
    expect(followed.code).toBe(0);
    expect(followed.stdout).toBe("No tokens (create one with 'host tokens create --scope read')\n");
    const after = await runCli(["doctor", "--json"], { env });
    const checks = JSON.parse(after.stdout).checks as { name: string; status: string }[];
    expect(checks.find((c) => c.name === "database")?.status).toBe("ok");

    await runCli(["tokens", "create", "--scope", "read", "--name", "ci"], { env });
    const listed = (await runCli(["tokens", "list"], { env })).stdout.split("\n");
    expect(listed[0]).toMatch(/^ID {26}STATE {3}SCOPES {2}NAME$/);
    expect(listed[1]).toMatch(/^[0-9A-Z]{26} {2}active {2}read {4}ci$/);
  });

  it("a bare serve names what is missing; plugins lists what a server loaded", async () => {
    const home = freshHome();
    const bare = await serve(home, []);
    try {
      expect(bare.listening.hints.map((h) => h.missing)).toEqual([
        "trusted_keys",
        "plugins",
        "tokens",
      ]);
    } finally {
      bare.child.kill("SIGTERM");
    }
    expect(await bare.exited).toBe(0);

    // The checkout's dev key signs build/plugins.
    cpSync(join(repoRoot, ".plughost", "trust"), join(home, "trust"), { recursive: true });
    const env = { PLUGHOST_HOME: home };
    await runCli(["tokens", "create", "--scope", "admin"], { env });
    const full = await serve(home, ["--plugins", join(repoRoot, "build", "plugins")]);
    try {
      expect(full.listening.hints).toEqual([]);
      const json = JSON.parse((await runCli(["plugins", "--json"], { env })).stdout);
      expect(json.server.url).toBe(full.listening.url);
      expect(json.plugins.map((p: { id: string }) => p.id)).toContain("example.hello");
      expect(json.plugins.every((p: { source: string }) => p.source === "served")).toBe(true);
      const text = (await runCli(["plugins"], { env })).stdout;
      expect(text).toMatch(/^ID +VERSION +STATE +LIFECYCLE +SOURCE +DIGEST\n/);
      expect(text).toMatch(/example\.hello +1\.0\.0 +served +active +served: .*hello\.wasm/);
      expect(text).toContain(`loaded by the server at ${full.listening.url}`);
    } finally {
      full.child.kill("SIGTERM");
    }
    expect(await full.exited).toBe(0);
    const afterStop = JSON.parse((await runCli(["plugins", "--json"], { env })).stdout);
    expect(afterStop).toEqual({ plugins: [], server: null });
  });

  it("serve on a port already taken exits 93 and says how to pick another", async () => {
    const home = freshHome();
    const first = await serve(home, []);
    try {
      const port = new URL(first.listening.url).port;
      const second = await runCli(["serve", "--port", port], {
        env: { PLUGHOST_HOME: home },
      });
      expect(second.code).toBe(93);
      expect(second.stderr).toContain(`Cannot listen on 127.0.0.1:${port}`);
      expect(second.stderr).toContain(`--port ${Number(port) + 1}`);
      expect(second.stderr).toContain(`PORT=${Number(port) + 1}`);
    } finally {
      first.child.kill("SIGTERM");
      await first.exited;
    }
  });
});
