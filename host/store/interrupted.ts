/**
 * On open: runs left `running` by a host process that is gone are marked
 * `interrupted` (error class `interrupted`), each with a `run.interrupted` event.
 * @module
 */
import type { Client } from "@libsql/client";
import { EVENT_SCHEMA_VERSION } from "./event-schema.ts";
import { type Owner, ownerIsGone } from "./owner.ts";
import { ulid } from "./ulid.ts";

const MESSAGE = "The host process stopped before the run ended";

/** Marks dead owners' running runs interrupted, in one transaction; returns their ids. */
export async function markInterrupted(client: Client, self: Owner): Promise<string[]> {
  const running = await client.execute(
    "SELECT id, plugin_id, host_name, host_pid, host_instance FROM run_records WHERE status = 'running'",
  );
  const dead = running.rows.filter((row) =>
    ownerIsGone(self, {
      hostName: String(row[2]),
      pid: Number(row[3]),
      instance: String(row[4]),
    })
  );
  if (dead.length === 0) return [];
  const now = Date.now();
  // One batch (no awaits inside a transaction). The guard on status means a process
  // starting at the same moment cannot mark a run twice; changes() skips the event then.
  const statements = dead.flatMap((row) => {
    const id = String(row[0]);
    return [
      {
        sql: "UPDATE run_records SET status = 'interrupted', error_class = 'interrupted', " +
          "error_message = ?, ended_at = ?, duration_ms = ? - started_at " +
          "WHERE id = ? AND status = 'running'",
        args: [MESSAGE, now, now, id],
      },
      {
        sql:
          "INSERT INTO events (id, schema_version, ts, type, level, source, plugin_id, run_id, " +
          "correlation_id, payload) SELECT ?, ?, ?, 'run.interrupted', 'warn', 'host', ?, ?, NULL, ? " +
          "WHERE changes() > 0",
        args: [
          ulid(now),
          EVENT_SCHEMA_VERSION,
          now,
          String(row[1]),
          id,
          JSON.stringify({ message: MESSAGE }),
        ],
      },
    ];
  });
  const results = await client.batch(statements, "write");
  const marked = dead.map((row) => String(row[0])).filter((_, i) =>
    results[2 * i]!.rowsAffected > 0
  );
  return marked;
}
