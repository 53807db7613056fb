/**
 * `host serve` with evidence triggers from its config file and a flag (the
 * real CLI in a child process): example.flaky fails over HTTP until its
 * breaker suspends it; each failed run gets a bundle (--evidence-on-failed)
 * and the suspension one more (the config's onSuspended), all verifying.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { afterEach, describe, expect, it } from "vitest";
import type { EvidenceBody } from "../../host/core/evidence.ts";
import { checkBundle, trustKey } from "../../host/trust/mod.ts";
import { repoRoot, runCli } from "../helpers/cli.ts";
import { newKey, signedFirstParty } from "../helpers/signing.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("host serve evidence triggers", () => {
  it("writes a bundle per failed run and one for the suspension", async () => {
    const home = mkdtempSync(join(tmpdir(), "plughost-serve-evidence-"));
    dirs.push(home);
    const key = await newKey("operator");
    await trustKey(join(home, "trust"), key.publicKey, { label: "operator" });
    const plugins = join(home, "served");
    mkdirSync(plugins);
    writeFileSync(
      join(plugins, "flaky.wasm"),
      await signedFirstParty("flaky", key, (m) => {
        (m.limits as Record<string, unknown>).breaker = { failures: 2, recovery: "disable" };
      }),
    );
    const env = { PLUGHOST_HOME: home };
    const token = JSON.parse(
      (await runCli(["tokens", "create", "--scope", "invoke", "--json"], { env })).stdout,
    ).token;
    const config = join(home, "serve.json");
    writeFileSync(config, JSON.stringify({ port: 0, evidence: { dir: "ev", onSuspended: true } }));
    const child = spawn(process.execPath, [
      join(repoRoot, "bin", "host.mjs"),
      "serve",
      "--plugins",
      plugins,
      "--config",
      config,
      "--evidence-on-failed",
      "plugin_error",
      "--json",
    ], { cwd: home, env: { ...process.env, PLUGHOST_HOME: home, NO_COLOR: "1" }, stdio: "pipe" });
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
    const url = JSON.parse(stdout.split("\n")[0]!).url as string;
    const dir = join(home, "ev");
    expect(stderr).toContain(
      `evidence bundles go to ${dir} on a run failing (plugin_error) and a plugin suspended`,
    );
    const runIds: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${url}/v1/plugins/example.flaky/capabilities/work`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ fail: true }),
      });
      expect(res.status).toBe(422);
      runIds.push(res.headers.get("x-run-id")!);
    }
    child.kill("SIGTERM");
    expect(await exited, stderr).toBe(0);

    const files = readdirSync(dir).sort();
    expect(files.filter((f) => f.startsWith("suspended-example.flaky-"))).toHaveLength(1);
    expect(files.filter((f) => !f.startsWith("suspended-")).sort())
      .toEqual(runIds.map((id) => `${id}.evidence`).sort());
    for (const file of files) {
      const checked = await checkBundle(readFileSync(join(dir, file)));
      expect(checked.ok, file).toBe(true);
      if (checked.ok && file.startsWith("suspended-")) {
        const ids = (checked.body as EvidenceBody).runs.map((r) => r.id);
        expect(ids).toEqual(expect.arrayContaining(runIds));
      }
    }
  }, 120_000);
});
