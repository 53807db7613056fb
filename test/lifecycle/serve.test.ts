/**
 * `host serve` on SIGTERM: the plugins' onShutdown hooks run within the
 * shutdown grace period (a hook that hangs is cut at the grace, and the host
 * still exits 0), recorded as hook runs. The real CLI in a child process.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openStore } from "../../host/store/mod.ts";
import { trustKey } from "../../host/trust/mod.ts";
import { repoRoot, runCli } from "../helpers/cli.ts";
import { newKey } from "../helpers/signing.ts";
import { lifecyclePlugin } from "./fixture.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("host serve and SIGTERM", () => {
  it("runs onShutdown within the grace period; a hanging one does not block exit", async () => {
    const home = mkdtempSync(join(tmpdir(), "plughost-lifecycle-serve-"));
    dirs.push(home);
    const key = await newKey("operator");
    await trustKey(join(home, "trust"), key.publicKey, { label: "operator" });
    const plugins = join(home, "served");
    mkdirSync(plugins);
    // The hanging hook asks for 30 s; the grace (1 s) bounds it.
    writeFileSync(
      join(plugins, "hang.wasm"),
      await lifecyclePlugin(key, "t.hang", { hooks: { onShutdown: "spin", timeoutMs: 30_000 } }),
    );
    writeFileSync(
      join(plugins, "clean.wasm"),
      await lifecyclePlugin(key, "t.clean", { hooks: { onLoad: "ok", onShutdown: "ok" } }),
    );
    const env = { PLUGHOST_HOME: home };
    const token = JSON.parse(
      (await runCli(["tokens", "create", "--scope", "admin", "--json"], { env })).stdout,
    ).token;
    const config = join(home, "serve.json");
    writeFileSync(config, JSON.stringify({ port: 0, pluginCpu: 0.5 }));
    const child = spawn(process.execPath, [
      join(repoRoot, "bin", "host.mjs"),
      "serve",
      "--plugins",
      plugins,
      "--config",
      config,
      "--grace-ms",
      "1000",
      "--json",
    ], { env: { ...process.env, PLUGHOST_HOME: home, NO_COLOR: "1" }, stdio: "pipe" });
    let stdout = "";
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding("utf8").on("data", (c: string) => {
        stdout += c;
        if (stdout.includes('"listening"')) resolve();
      });
      child.on("exit", () => reject(new Error(`serve exited early: ${stderr}`)));
    });
    const listening = JSON.parse(stdout.split("\n")[0]!);
    expect(listening.plugins.map((p: { id: string }) => p.id).sort()).toEqual([
      "t.clean",
      "t.hang",
    ]);
    // `host plugins` shows the lifecycle the server recorded; resume asks the server.
    const listed = await runCli(["plugins", "--json"], { env });
    expect(listed.code, listed.stderr).toBe(0);
    const rows = JSON.parse(listed.stdout).plugins as { id: string; lifecycle: unknown }[];
    expect(rows.map((r) => [r.id, r.lifecycle])).toEqual([
      ["t.clean", expect.objectContaining({ state: "active", reason: "onLoad succeeded" })],
      ["t.hang", expect.objectContaining({ state: "active" })],
    ]);
    const resumed = await runCli(["plugins", "resume", "t.clean", "--token", token], { env });
    expect(resumed.code).toBe(1);
    expect(resumed.stderr).toMatch(/HTTP 409.*only a suspended plugin/);
    expect((await runCli(["plugins", "resume", "t.clean", "--server", "nope"], { env })).code)
      .toBe(64);
    child.kill("SIGTERM");
    expect(await exited, stderr).toBe(0);

    const store = await openStore({ url: `file:${join(home, "host.db")}` });
    try {
      const runs = (await store.runs.list({ limit: 100 })).runs.filter((r) =>
        r.capability === "hook:onShutdown"
      );
      const byPlugin = Object.fromEntries(runs.map((r) => [r.pluginId, r]));
      expect(byPlugin["t.clean"]).toMatchObject({ status: "ok", trigger: "hook" });
      expect(byPlugin["t.hang"]).toMatchObject({ status: "error", trigger: "hook" });
      // Cut at the grace period, not at its own 30 s.
      expect(byPlugin["t.hang"]!.limits).toMatchObject({ timeoutMs: 1000 });
      for (const id of ["t.clean", "t.hang"]) {
        const last = (await store.events.query({ type: "plugin.state_changed", pluginId: id }))
          .events.at(-1);
        expect(last?.payload).toMatchObject({ to: "stopped", reason: "host stopping" });
      }
    } finally {
      await store.close();
    }
  }, 120_000);
});
