/**
 * `host serve` end to end, on Node and on Deno: revoking the key that signed
 * the served plugins (then SIGHUP) stops them within 5 s, reported on stderr
 * and as plugin.stopped events; the server keeps serving.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { repoRoot, runCli } from "../helpers/cli.ts";

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const serveCommand = (runtime: "node" | "deno", args: string[]): [string, string[]] =>
  runtime === "node"
    ? [process.execPath, [join(repoRoot, "bin", "host.mjs"), ...args]]
    : [join(repoRoot, "node_modules", ".bin", "deno"), [
      "run",
      "--allow-all",
      "--quiet",
      `--config=${join(repoRoot, "deno.json")}`,
      join(repoRoot, "host", "cli", "bin.ts"),
      ...args,
    ]];

describe.each(["node", "deno"] as const)("host serve on %s", (runtime) => {
  it("stops the plugins of a key revoked while it runs (SIGHUP), within 5 s", async () => {
    const home = mkdtempSync(join(tmpdir(), "plughost-trust-serve-"));
    dirs.push(home);
    cpSync(join(repoRoot, ".plughost", "trust"), join(home, "trust"), { recursive: true });
    const keyIds = readdirSync(join(home, "trust")).filter((n) => n.endsWith(".pub"))
      .map((n) => n.slice(0, -4));
    const env = { PLUGHOST_HOME: home };
    const token = JSON.parse(
      (await runCli(["tokens", "create", "--scope", "admin", "--json"], { env })).stdout,
    ).token as string;
    const [cmd, args] = serveCommand(runtime, [
      "serve",
      "--plugins",
      join(repoRoot, "build", "plugins"),
      "--port",
      "0",
      "--json",
    ]);
    const child = spawn(cmd, args, {
      env: { ...process.env, ...env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let stdout = "";
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    const listening = await new Promise<{ url: string; plugins: { id: string }[] }>(
      (resolve, reject) => {
        child.stdout!.setEncoding("utf8").on("data", (c: string) => {
          stdout += c;
          const line = stdout.split("\n").find((l) => l.includes('"listening"'));
          if (line) resolve(JSON.parse(line));
        });
        void exited.then((code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
      },
    );
    const get = async (path: string) =>
      await (await fetch(`${listening.url}${path}`, {
        headers: { authorization: `Bearer ${token}` },
      })).json();
    expect(listening.plugins.map((p) => p.id)).toContain("example.hello");

    appendFileSync(join(home, "trust", "revoked.txt"), keyIds.map((k) => `${k} test\n`).join(""));
    child.kill("SIGHUP");
    await vi.waitFor(async () => expect((await get("/v1/plugins")).plugins).toEqual([]), {
      timeout: 5000,
      interval: 100,
    });
    const stopped = await get("/v1/events?type=plugin.stopped&limit=100");
    expect(stopped.events.map((e: { pluginId: string }) => e.pluginId)).toContain(
      "example.hello",
    );
    expect(stopped.events[0].payload.reason).toBe("key_revoked");
    expect(stderr).toContain("stopped example.hello");
    expect((await fetch(`${listening.url}/healthz`)).status).toBe(200);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  }, 120_000);
});
