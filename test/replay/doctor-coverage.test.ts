import { createClient } from "@libsql/client";
import { spawnSync } from "node:child_process";
import { hostname } from "node:os";
import process from "node:process";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256Id } from "../../host/artifact/mod.ts";
import { main } from "../../host/cli/main.ts";
import { openStore } from "../../host/store/mod.ts";
import { tempDb } from "../store/helpers.ts";

let db: ReturnType<typeof tempDb>;
beforeEach(() => {
  db = tempDb();
});
afterEach(() => db.cleanup());

async function doctor(...args: string[]) {
  let stdout = "";
  const code = await main(["doctor", "--db", db.url, ...args], {
    stdout: (t) => void (stdout += t),
    stderr: () => {},
    env: {},
    cwd: db.dir,
  });
  return { code, stdout };
}

interface Finding {
  name: string;
  status: string;
  detail: string;
}

async function findings(): Promise<Finding[]> {
  return JSON.parse((await doctor("--json")).stdout).checks as Finding[];
}

/** A pid that certainly belonged to a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", ""]);
  return child.pid!;
}

describe("doctor: RunRecord coverage", () => {
  it("reports a run left running by a killed host as a coverage gap (exit 2 under --strict)", async () => {
    const store = await openStore({ url: db.url });
    const ok = await store.runs.start({
      pluginId: "example.hello",
      moduleDigest: sha256Id("m"),
      export: "greet",
      trigger: "cli",
      input: new Uint8Array(),
    });
    await store.runs.finish(ok.id, { status: "ok", output: new Uint8Array() });
    await store.events.append({ type: "run.finished", pluginId: "example.hello", runId: ok.id });
    await store.close();
    expect((await findings()).filter((c) => c.name.startsWith("run"))).toEqual([
      expect.objectContaining({ name: "run-coverage", status: "ok" }),
      expect.objectContaining({ name: "run-events", status: "ok" }),
    ]);

    // What a killed host leaves: its row still `running`, owned by a process that is gone.
    const raw = createClient({ url: db.url });
    await raw.execute({
      sql: "INSERT INTO run_records (id, plugin_id, module_digest, export_name, trigger, " +
        "input_digest, input_size, config_fingerprint, limits, status, started_at, host_name, " +
        "host_pid, host_instance) VALUES ('01KILLEDRUN0000000000000000', 'example.hello', ?, " +
        "'greet', 'cli', ?, 0, ?, '{}', 'running', ?, ?, ?, 'gone')",
      args: [sha256Id("m"), sha256Id(""), sha256Id("{}"), Date.now(), hostname(), deadPid()],
    });
    raw.close();
    const gap = (await findings()).find((c) => c.name === "run-coverage");
    expect(gap).toMatchObject({ status: "warn" });
    expect(gap!.detail).toMatch(
      /coverage gap: 1 run\(s\) never finished.*01KILLEDRUN0000000000000000/,
    );
    expect((await doctor()).code).toBe(0);
    expect((await doctor("--strict")).code).toBe(2);
  });

  it("reports an ended run without its terminal event", async () => {
    const store = await openStore({ url: db.url });
    const run = await store.runs.start({
      pluginId: "example.hello",
      moduleDigest: sha256Id("m"),
      export: "greet",
      trigger: "cli",
      input: new Uint8Array(),
    });
    await store.runs.finish(run.id, { status: "error", errorClass: "timeout", errorMessage: "x" });
    await store.close();
    const missing = (await findings()).find((c) => c.name === "run-events");
    expect(missing).toMatchObject({ status: "warn" });
    expect(missing!.detail).toContain(run.id);
  });
});
