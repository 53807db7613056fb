/**
 * The `run_replay` table: what a run needs to be replayed (docs/replay.md),
 * one row per run next to its RunRecord: the determinism mode, the per-run
 * seed, the entropy sources the plugin could see, the effective config and
 * the host-call tape (answers the host gave, never secret values).
 * @module
 */
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Determinism modes of a run. */
export const determinismModes = ["strict", "best-effort"] as const;

/** One row per run, written when the run ends. */
export const runReplay = sqliteTable("run_replay", {
  runId: text("run_id").primaryKey(),
  mode: text("mode", { enum: determinismModes }).notNull(),
  /** 32 hex digits drawn per run; what pinned entropy derives from. */
  seed: text("seed").notNull(),
  /** JSON array of entropy sources the plugin could see or used (e.g. `wasi.clock`, `http`). */
  entropy: text("entropy").notNull(),
  /** JSON of the effective config the run had (its fingerprint is on the RunRecord). */
  config: text("config").notNull(),
  /** JSON array of tape entries (host/capabilities/tape.ts `TapeEntry`). */
  tape: text("tape").notNull(),
  /** Why the run cannot be replayed (tape cut, a secret read), or NULL. */
  unreplayable: text("unreplayable"),
  createdAt: integer("created_at").notNull(),
});
