/**
 * RunRecord coverage checks for `host doctor` (read-only): runs left
 * `running` by a host process that is gone (a gap the next host start closes
 * by marking them interrupted), runs still running well past their timeout,
 * and ended runs without their terminal event (`run.finished`, `run.failed`,
 * `run.interrupted`), which a complete record always has.
 * @module
 */
import type { Client } from "@libsql/client";
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Check } from "./check.ts";
import { ownerIsGone } from "./owner.ts";

/** How far past its own timeout a live run must be to count as stuck. */
const STUCK_GRACE_MS = 60_000;
/** Run ids named in a finding at most. */
const NAMED = 5;

/** The coverage checks; `now` is injectable for tests. */
export async function checkRunCoverage(client: Client, now = Date.now()): Promise<Check[]> {
  const running = await client.execute(
    "SELECT id, host_name, host_pid, host_instance, started_at, limits FROM run_records " +
      "WHERE status = 'running' ORDER BY id",
  );
  // Doctor owns no store instance, so any same-pid owner counts as gone.
  const self = { hostName: hostname(), pid: -1, instance: "" };
  const orphaned: string[] = [];
  const stuck: string[] = [];
  for (const row of running.rows) {
    const id = String(row[0]);
    const owner = { hostName: String(row[1]), pid: Number(row[2]), instance: String(row[3]) };
    if (ownerIsGone(self, owner)) {
      orphaned.push(`${id} (host ${owner.hostName} pid ${owner.pid})`);
      continue;
    }
    const timeoutMs = timeoutOf(String(row[5]));
    if (now - Number(row[4]) > timeoutMs + STUCK_GRACE_MS) stuck.push(id);
  }
  const missing = await client.execute(
    "SELECT r.id FROM run_records r WHERE r.status <> 'running' AND NOT EXISTS (" +
      "SELECT 1 FROM events e WHERE e.run_id = r.id AND e.type IN " +
      "('run.finished', 'run.failed', 'run.interrupted')) ORDER BY r.id LIMIT 1000",
  );
  const unevented = missing.rows.map((row) => String(row[0]));
  return [
    orphaned.length === 0
      ? { name: "run-coverage", status: "ok", detail: "no run left running by a gone host" }
      : {
        name: "run-coverage",
        status: "warn",
        detail: `coverage gap: ${orphaned.length} run(s) never finished, left running by a host ` +
          `process that is gone: ${named(orphaned)}; the next host start marks them interrupted`,
      },
    stuck.length === 0
      ? { name: "stuck-runs", status: "ok", detail: "no live run is past its timeout" }
      : {
        name: "stuck-runs",
        status: "warn",
        detail: `${stuck.length} run(s) still running over a minute past their timeout: ${
          named(stuck)
        }; check the host that owns them`,
      },
    unevented.length === 0
      ? { name: "run-events", status: "ok", detail: "every ended run has its terminal event" }
      : {
        name: "run-events",
        status: "warn",
        detail: `coverage gap: ${unevented.length}${
          unevented.length === 1000 ? "+" : ""
        } ended run(s) without a run.finished/run.failed/run.interrupted event: ${
          named(unevented)
        }`,
      },
  ];
}

function timeoutOf(limits: string): number {
  try {
    const value = (JSON.parse(limits) as { timeoutMs?: unknown }).timeoutMs;
    return typeof value === "number" ? value : 0;
  } catch {
    return 0;
  }
}

function named(ids: string[]): string {
  return ids.slice(0, NAMED).join(", ") +
    (ids.length > NAMED ? `, ... (${ids.length} in all)` : "");
}

/**
 * Installed plugins in error: a module missing from the content-addressed
 * folder (it cannot load), or a last load that failed (`plugin.load_failed`
 * newer than its last `plugin.loaded`).
 */
export async function checkPlugins(client: Client, pluginsDir: string | undefined): Promise<Check> {
  const rows = await client.execute(
    "SELECT p.id, p.digest, " +
      "(SELECT max(e.id) FROM events e WHERE e.plugin_id = p.id AND e.type = 'plugin.loaded'), " +
      "(SELECT max(e.id) FROM events e WHERE e.plugin_id = p.id AND e.type = 'plugin.load_failed') " +
      "FROM plugins p WHERE p.state != 'uninstalled' ORDER BY p.id",
  );
  const problems: string[] = [];
  for (const row of rows.rows) {
    const id = String(row[0]);
    if (pluginsDir !== undefined && !existsSync(join(pluginsDir, `${String(row[1])}.wasm`))) {
      problems.push(`${id}: module ${String(row[1]).slice(0, 12)}... missing from ${pluginsDir}`);
    } else if (row[3] !== null && (row[2] === null || String(row[3]) > String(row[2]))) {
      problems.push(`${id}: its last load failed (see 'host events --type plugin.load_failed')`);
    }
  }
  return problems.length === 0
    ? {
      name: "plugins",
      status: "ok",
      detail: `${rows.rows.length} installed plugin(s), none in error`,
    }
    : { name: "plugins", status: "warn", detail: `plugin(s) in error: ${problems.join("; ")}` };
}
