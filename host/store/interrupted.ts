/**
 * Runs that will never finish are marked `interrupted` (error class
 * `interrupted`), each with a `run.interrupted` event, in one write batch:
 * on open, the runs left `running` by a host process that is gone; on a
 * shutdown past its grace period, the runs this host gives up on. A late
 * finish of such a run is then ignored (finish only updates `running` runs).
 * @module
 */
import type { Client, InStatement } from "@libsql/client";
import { EVENT_SCHEMA_VERSION } from "./event-schema.ts";
import { type Owner, ownerIsGone } from "./owner.ts";
import { ulid } from "./ulid.ts";

/** Why a dead process's runs ended. */
export const DEAD_OWNER_MESSAGE = "The host process stopped before the run ended";
/** Why a host that stops gives up on its runs. */
export const SHUTDOWN_MESSAGE = "The host shut down before the run ended";

/** Marks dead owners' running runs interrupted, in one batch; returns their ids. */
export async function markInterrupted(client: Client, self: Owner): Promise<string[]> {
  const running = await client.execute(
    "SELECT id, host_name, host_pid, host_instance FROM run_records WHERE status = 'running'",
  );
  const dead = running.rows.filter((row) =>
    ownerIsGone(self, {
      hostName: String(row[1]),
      pid: Number(row[2]),
      instance: String(row[3]),
    })
  ).map((row) => String(row[0]));
  return await interruptRuns(client, dead, DEAD_OWNER_MESSAGE);
}

/**
 * Marks these runs interrupted if still `running`, each with a
 * `run.interrupted` event, in one batch; returns the ids it marked. The guard
 * on status means two processes cannot mark a run twice; changes() skips the
 * event of a run that was not marked.
 */
export async function interruptRuns(
  client: Client,
  runIds: readonly string[],
  message: string,
): Promise<string[]> {
  if (runIds.length === 0) return [];
  const now = Date.now();
  const payload = JSON.stringify({ message });
  const statements: InStatement[] = runIds.flatMap((id) => [
    {
      sql: "UPDATE run_records SET status = 'interrupted', error_class = 'interrupted', " +
        "error_message = ?, ended_at = ?, duration_ms = ? - started_at " +
        "WHERE id = ? AND status = 'running'",
      args: [message, now, now, id],
    },
    {
      sql: "INSERT INTO events (id, schema_version, ts, type, level, source, plugin_id, run_id, " +
        "correlation_id, payload) SELECT ?, ?, ?, 'run.interrupted', 'warn', 'host', plugin_id, " +
        "id, NULL, ? FROM run_records WHERE id = ? AND changes() > 0",
      args: [ulid(now), EVENT_SCHEMA_VERSION, now, payload, id],
    },
  ]);
  const results = await client.batch(statements, "write");
  return runIds.filter((_, i) => results[2 * i]!.rowsAffected > 0);
}
