/**
 * Read-only health checks of the host database for `host doctor`: reachable,
 * migrated, intact, append-only triggers in place, WAL for files, RunRecord
 * coverage (doctor-runs.ts). Nothing here
 * creates, migrates or changes the database.
 * @module
 */
import { type Client, createClient } from "@libsql/client";
import { existsSync } from "node:fs";
import { checkPlugins, checkRunCoverage } from "./doctor-runs.ts";
import { appliedMigrations, migrationHash } from "./migrate.ts";
import { migrations } from "./migrations.ts";
import { dbFilePath } from "./url.ts";

import type { Check } from "./check.ts";

export type { Check } from "./check.ts";

/** Triggers that keep `events` append-only. */
export const APPEND_ONLY_TRIGGERS = ["events_no_update", "events_no_delete"] as const;

/** Checks the database at `url`; stops at the first check the rest depend on. */
export async function checkDatabase(
  url: string,
  authToken?: string,
  pluginsDir?: string,
): Promise<Check[]> {
  const checks: Check[] = [];
  const file = dbFilePath(url);
  if (file !== undefined && !existsSync(file)) {
    return [{
      name: "database",
      status: "fail",
      detail:
        `no database at ${file}: a new data directory has none yet; 'host serve' or 'host tokens list' creates it (or pass --db)`,
    }];
  }
  let client: Client;
  try {
    client = createClient({ url, authToken, timeout: 5000, intMode: "number" });
    const version = await client.execute("SELECT sqlite_version()");
    checks.push({
      name: "database",
      status: "ok",
      detail: `${url} reachable (SQLite ${version.rows[0]?.[0]})`,
    });
  } catch (error) {
    return [{ name: "database", status: "fail", detail: `cannot open ${url}: ${message(error)}` }];
  }
  try {
    if (file !== undefined) checks.push(await integrity(client), await walMode(client));
    const migrations = await migrated(client);
    checks.push(migrations);
    checks.push(await triggers(client));
    // The run tables are only there to read once migrated.
    if (migrations.status === "ok") {
      checks.push(...await checkRunCoverage(client), await checkPlugins(client, pluginsDir));
    }
  } catch (error) {
    checks.push({
      name: "database",
      status: "fail",
      detail: `cannot read ${url}: ${message(error)}`,
    });
  } finally {
    client.close();
  }
  return checks;
}

async function integrity(client: Client): Promise<Check> {
  const result = await client.execute("PRAGMA integrity_check");
  const lines = result.rows.map((row) => String(row[0]));
  return lines.length === 1 && lines[0] === "ok"
    ? { name: "integrity", status: "ok", detail: "integrity_check: ok" }
    : {
      name: "integrity",
      status: "fail",
      detail: `integrity_check found problems: ${
        lines.slice(0, 5).join("; ")
      }; restore from a backup`,
    };
}

async function walMode(client: Client): Promise<Check> {
  const mode = String((await client.execute("PRAGMA journal_mode")).rows[0]?.[0]);
  return mode === "wal" ? { name: "wal", status: "ok", detail: "journal_mode: wal" } : {
    name: "wal",
    status: "warn",
    detail: `journal_mode is ${mode}, not wal: the host switches it on its next start`,
  };
}

async function migrated(client: Client): Promise<Check> {
  const applied = await appliedMigrations(client);
  const known = new Map(migrations.map((m) => [m.when, m]));
  for (const row of applied) {
    const migration = known.get(row.when);
    if (migration === undefined) {
      return {
        name: "migrations",
        status: "fail",
        detail:
          `the database has a migration this host does not know (created_at ${row.when}): it was written by a newer host; upgrade this one`,
      };
    }
    if (migrationHash(migration) !== row.hash) {
      return {
        name: "migrations",
        status: "fail",
        detail:
          `migration ${migration.tag} was applied from different SQL (hash mismatch): the database was made by another build`,
      };
    }
  }
  const pending = migrations.length - applied.length;
  return pending === 0
    ? {
      name: "migrations",
      status: "ok",
      detail: `${applied.length} of ${migrations.length} applied`,
    }
    : {
      name: "migrations",
      status: "fail",
      detail:
        `${pending} of ${migrations.length} migrations not applied: open the database with this host ('host serve' or 'host tokens list') to apply them`,
    };
}

async function triggers(client: Client): Promise<Check> {
  const result = await client.execute(
    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'",
  );
  const present = new Set(result.rows.map((row) => String(row[0])));
  const missing = APPEND_ONLY_TRIGGERS.filter((name) => !present.has(name));
  return missing.length === 0
    ? {
      name: "append-only",
      status: "ok",
      detail: `triggers ${APPEND_ONLY_TRIGGERS.join(", ")} present`,
    }
    : {
      name: "append-only",
      status: "fail",
      detail: `missing trigger(s) ${
        missing.join(", ")
      }: events can be changed; restore them from host/store/migrations/0001_append_only_events.sql`,
    };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
