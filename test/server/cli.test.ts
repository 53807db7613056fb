/**
 * `host serve` and `host tokens` end to end: the real CLI in a child process,
 * a real socket, SIGTERM for a graceful stop.
 */
import { spawn } from "node:child_process";
import { request } from "node:http";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { repoRoot, runCli } from "../helpers/cli.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempHome(): string {
  const dir = mkdtempSync(join(tmpdir(), "plughost-serve-cli-"));
  dirs.push(dir);
  // The checkout's dev key signs build/plugins; trust it in this data directory too.
  cpSync(join(repoRoot, ".plughost", "trust"), join(dir, "trust"), { recursive: true });
  return dir;
}

describe("host tokens", () => {
  it("creates (shown once), lists, revokes, and ensure keeps a valid token file", async () => {
    const home = tempHome();
    const env = { PLUGHOST_HOME: home };
    const created = await runCli(
      ["tokens", "create", "--scope", "read", "--name", "ci", "--json"],
      {
        env,
      },
    );
    expect(created.code, created.stderr).toBe(0);
    const { token, id } = JSON.parse(created.stdout);
    expect(token).toMatch(/^plh_/);
    const listed = await runCli(["tokens", "list"], { env });
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).not.toContain(token);
    expect((await runCli(["tokens", "revoke", id], { env })).code).toBe(0);
    expect((await runCli(["tokens", "revoke", id], { env })).code).toBe(1);
    expect((await runCli(["tokens", "create", "--scope", "root"], { env })).code).toBe(65);
    expect((await runCli(["tokens", "create"], { env })).code).toBe(64);
    const file = join(home, "dev-token");
    const first = await runCli(["tokens", "ensure", "--file", file, "--scope", "admin"], { env });
    const second = await runCli(["tokens", "ensure", "--file", file, "--scope", "admin"], { env });
    expect(first.stdout).toBe(second.stdout);
    writeFileSync(file, "plh_stale\n");
    const third = await runCli(["tokens", "ensure", "--file", file, "--scope", "admin"], { env });
    expect(third.stdout.trim()).toMatch(/^plh_/);
    expect(third.stdout).not.toBe(first.stdout);
  });
});

describe("host serve", () => {
  it("serves the plugins directory, answers a call, and stops on SIGTERM with exit 0", async () => {
    const home = tempHome();
    const env = { ...process.env, PLUGHOST_HOME: home, NO_COLOR: "1" };
    const token = JSON.parse(
      (await runCli(["tokens", "create", "--scope", "admin", "--json"], {
        env: { PLUGHOST_HOME: home },
      }))
        .stdout,
    ).token;
    const config = join(home, "serve.json");
    writeFileSync(
      config,
      JSON.stringify({ port: 0, rateLimit: { perSecond: 50 }, allowedHosts: ["plughost.test"] }),
    );
    const child = spawn(process.execPath, [
      join(repoRoot, "bin", "host.mjs"),
      "serve",
      "--plugins",
      join(repoRoot, "build", "plugins"),
      "--config",
      config,
      "--json",
    ], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    const listening = await new Promise<{ url: string; plugins: { id: string }[] }>(
      (resolve, reject) => {
        child.stdout.setEncoding("utf8").on("data", (c: string) => {
          stdout += c;
          const line = stdout.split("\n").find((l) => l.includes('"listening"'));
          if (line) resolve(JSON.parse(line));
        });
        void exited.then((code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
      },
    );
    try {
      expect(listening.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(listening.plugins.map((p) => p.id)).toContain("example.hello");
      const res = await fetch(`${listening.url}/v1/plugins/example.hello/capabilities/greet`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: '{"name":"cli"}',
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ message: "Hello, cli!" });
      const run = await fetch(`${listening.url}/v1/runs/${res.headers.get("x-run-id")}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect((await run.json()).status).toBe("ok");
      // The config's allowedHosts reach the server's Host check.
      expect(await statusWithHost(listening.url, "plughost.test:80")).toBe(200);
      expect(await statusWithHost(listening.url, "evil.example")).toBe(421);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    expect(stdout).toContain('"event":"stopped"');
    expect(stderr).toContain("SIGTERM: shutting down");
  });

  it("refuses a bad config file with exit 65", async () => {
    const home = tempHome();
    const config = join(home, "bad.json");
    writeFileSync(config, JSON.stringify({ port: "eighty" }));
    const result = await runCli(["serve", "--config", config], { env: { PLUGHOST_HOME: home } });
    expect(result.code).toBe(65);
    expect(result.stderr).toContain("port");
    writeFileSync(config, JSON.stringify({ allowedHosts: ["https://plughost.test"] }));
    const host = await runCli(["serve", "--config", config], { env: { PLUGHOST_HOME: home } });
    expect(host.code).toBe(65);
    expect(host.stderr).toContain("allowedHosts");
  });

  it("refuses --allowed-host with a port, or with --allow-any-host, with exit 64", async () => {
    const env = { PLUGHOST_HOME: tempHome() };
    const port = await runCli(["serve", "--allowed-host", "plughost.test:8787"], { env });
    expect(port.code).toBe(64);
    expect(port.stderr).toContain("--allowed-host");
    const both = await runCli(["serve", "--allowed-host", "a.test", "--allow-any-host"], { env });
    expect(both.code).toBe(64);
  });
});

/** The status of GET /openapi.json at `url` sent with this Host header (fetch sends its own). */
function statusWithHost(url: string, host: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/openapi.json`, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on("error", reject);
    req.end();
  });
}
