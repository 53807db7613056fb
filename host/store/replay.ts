/**
 * The replay records of runs (table `run_replay`, docs/replay.md): written
 * once when a run ends, read by `host replay` and evidence bundles.
 * @module
 */
import { inArray } from "drizzle-orm";
import { z } from "zod";
import { storageError } from "./client.ts";
import type { StoreDb, WriteOp } from "./ops.ts";
import type { BatchWriter } from "./writer.ts";
import { determinismModes, runReplay } from "./schema/index.ts";

/** A run's replay record. */
export const ReplayRecord = z.object({
  runId: z.string().min(1),
  mode: z.enum(determinismModes),
  seed: z.string().regex(/^[0-9a-f]{32}$/),
  entropy: z.array(z.string()),
  config: z.json(),
  /** Tape entries as host/capabilities/tape.ts defines them (kept as data here). */
  tape: z.array(z.record(z.string(), z.unknown())),
  unreplayable: z.string().nullable(),
});
export type ReplayRecord = z.infer<typeof ReplayRecord>;

/** Reads and writes `run_replay`; writes go through the store's batching writer with the runs. */
export class ReplayRepository {
  readonly #db: StoreDb;
  readonly #writer: BatchWriter<WriteOp>;

  constructor(db: StoreDb, writer: BatchWriter<WriteOp>) {
    this.#db = db;
    this.#writer = writer;
  }

  /** Queues a run's replay record; resolves once durable. */
  record(record: ReplayRecord): Promise<void> {
    // Every run writes one: zod (~10-17 us) only for a record the plain checks do not pass.
    const r = wellFormed(record) ? record : ReplayRecord.parse(record);
    return this.#writer.enqueue({
      kind: "replay",
      row: {
        runId: r.runId,
        mode: r.mode,
        seed: r.seed,
        entropy: JSON.stringify(r.entropy),
        config: JSON.stringify(r.config),
        tape: JSON.stringify(r.tape),
        unreplayable: r.unreplayable,
        createdAt: Date.now(),
      },
    });
  }

  /** The replay record of a run, or undefined. */
  async get(runId: string): Promise<ReplayRecord | undefined> {
    return (await this.many([runId]))[0];
  }

  /** The replay records of these runs (those that have one). */
  async many(runIds: readonly string[]): Promise<ReplayRecord[]> {
    await this.#writer.flush();
    if (runIds.length === 0) return [];
    try {
      const rows = await this.#db.select().from(runReplay).where(inArray(runReplay.runId, [
        ...runIds,
      ]));
      return rows.map((row) => ({
        runId: row.runId,
        mode: row.mode,
        seed: row.seed,
        entropy: JSON.parse(row.entropy) as string[],
        config: JSON.parse(row.config) as ReplayRecord["config"],
        tape: JSON.parse(row.tape) as ReplayRecord["tape"],
        unreplayable: row.unreplayable,
      }));
    } catch (error) {
      throw storageError("Cannot read replay records", error);
    }
  }
}

const SEED = /^[0-9a-f]{32}$/;

/** What ReplayRecord accepts, checked without zod's copy (the shape `invoke` writes). */
function wellFormed(r: ReplayRecord): boolean {
  return typeof r.runId === "string" && r.runId.length > 0 &&
    determinismModes.includes(r.mode) && typeof r.seed === "string" && SEED.test(r.seed) &&
    Array.isArray(r.entropy) && r.entropy.every((e) => typeof e === "string") &&
    Array.isArray(r.tape) && r.tape.every((e) => isRecord(e) && isJson(e, 1)) &&
    (r.unreplayable === null || typeof r.unreplayable === "string") && isJson(r.config, 0);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** JSON data (as z.json() takes it), at most 64 levels deep; anything else goes to zod. */
function isJson(value: unknown, depth: number): boolean {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value);
  if (depth > 64) return false;
  if (Array.isArray(value)) return value.every((v) => isJson(v, depth + 1));
  return isRecord(value) && Object.values(value).every((v) => isJson(v, depth + 1));
}
