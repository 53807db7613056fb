/**
 * Applies the embedded migrations at open. It keeps drizzle's bookkeeping
 * table (`__drizzle_migrations`: hash = SHA-256 of the SQL file, created_at =
 * the journal's `when`), so drizzle-kit sees the same state, but it reads and
 * applies all pending migrations in one write batch: two processes opening a
 * new database at once cannot both apply one (the loser finds nothing pending).
 * @module
 */
import type { Client } from "@libsql/client";
import { sha256HexSync } from "../artifact/mod.ts";
import { HostError } from "../errors.ts";

/** One migration: the drizzle-kit journal tag and time, and the SQL file's exact text. */
export interface Migration {
  tag: string;
  when: number;
  sql: string;
}

/** Name of the bookkeeping table drizzle uses. */
export const MIGRATIONS_TABLE = "__drizzle_migrations";

const createTable = `CREATE TABLE IF NOT EXISTS "${MIGRATIONS_TABLE}" (
  id SERIAL PRIMARY KEY,
  hash text NOT NULL,
  created_at numeric
)`;

/** The hash drizzle records for a migration. */
export function migrationHash(migration: Migration): string {
  return sha256HexSync(migration.sql);
}

/** Applies every migration newer than the last one recorded; returns the tags applied. */
export async function applyMigrations(
  client: Client,
  migrations: readonly Migration[],
): Promise<string[]> {
  await client.execute(createTable);
  const pending = await pendingMigrations(client, migrations);
  if (pending.length === 0) return [];
  // One write batch (BEGIN IMMEDIATE ... COMMIT): all pending migrations or none.
  const statements = pending.flatMap((migration) => [
    ...migration.sql.split("--> statement-breakpoint").filter((s) => s.trim() !== ""),
    {
      sql: `INSERT INTO "${MIGRATIONS_TABLE}" ("hash", "created_at") VALUES (?, ?)`,
      args: [migrationHash(migration), migration.when],
    },
  ]);
  try {
    await client.batch(statements, "write");
    return pending.map((m) => m.tag);
  } catch (error) {
    // Another process may have applied them between our read and our batch.
    if ((await pendingMigrations(client, migrations)).length === 0) return [];
    throw new HostError(
      "storage_error",
      `Cannot migrate the database: ${error instanceof Error ? error.message : error}`,
      { cause: error },
    );
  }
}

/** Migrations not yet applied (newer than the last recorded `created_at`). */
export async function pendingMigrations(
  client: Pick<Client, "execute">,
  migrations: readonly Migration[],
): Promise<Migration[]> {
  const last = await lastApplied(client);
  return migrations.filter((m) => last === undefined || last < m.when);
}

/** Applied migrations as recorded: hash and time, oldest first (empty when none). */
export async function appliedMigrations(
  client: Pick<Client, "execute">,
): Promise<{ hash: string; when: number }[]> {
  const exists = await client.execute({
    sql: "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
    args: [MIGRATIONS_TABLE],
  });
  if (exists.rows.length === 0) return [];
  const result = await client.execute(
    `SELECT hash, created_at FROM "${MIGRATIONS_TABLE}" ORDER BY created_at`,
  );
  return result.rows.map((row) => ({ hash: String(row[0]), when: Number(row[1]) }));
}

async function lastApplied(client: Pick<Client, "execute">): Promise<number | undefined> {
  const applied = await appliedMigrations(client);
  return applied.at(-1)?.when;
}
