/**
 * The RunRecords repository: start and finish go through the batching writer
 * (in order, so a finish never overtakes its start); get and list read.
 * @module
 */
import { Buffer } from "node:buffer";
import { and, desc, eq, lt, type SQL } from "drizzle-orm";
import { z } from "zod";
import { HostError } from "../errors.ts";
import { storageError } from "./client.ts";
import { sha256Id } from "../artifact/mod.ts";
import { canonicalJson } from "./digest.ts";
import type { RunEnd, RunRow, StoreDb, WriteOp } from "./ops.ts";
import type { Owner } from "./owner.ts";
import { RunFinish, type RunRecord, RunStart, type RunStatus } from "./run-schema.ts";
import { toRunRecord } from "./rows.ts";
import { finishFast, startFast } from "./run-check.ts";
import { runRecords } from "./schema/index.ts";
import { ulid } from "./ulid.ts";
import type { BatchWriter } from "./writer.ts";

/** Filters for `list`; newest first. */
export interface RunQuery {
  pluginId?: string | undefined;
  status?: RunStatus | undefined;
  /** Only runs with this correlation id. */
  correlationId?: string | undefined;
  /** Cursor from a previous page: only runs older than it. */
  before?: string | undefined;
  /** At most this many (default 50, at most 1000). */
  limit?: number | undefined;
}

/** One page of runs, newest first; `cursor` is set when more may follow. */
export interface RunPage {
  runs: RunRecord[];
  cursor: string | null;
}

/** What `start` resolves with once the run's row is durable. */
export interface StartedRun {
  id: string;
}

/** Distinct configs whose fingerprints are remembered at most. */
const FINGERPRINTS_KEPT = 256;

/** Records runs: one row per invocation. */
export class RunsRepository {
  readonly #db: StoreDb;
  readonly #writer: BatchWriter<WriteOp>;
  readonly #owner: Owner;
  readonly #inputMaxBytes: number;
  /** Canonical config text -> its fingerprint (bounded; cleared when full). */
  readonly #fingerprints = new Map<string, string>();
  /** Runs this store marked interrupted (a shutdown's calls in flight; bounded by them). */
  readonly #interrupted = new Set<string>();

  /** Notes runs this store marked interrupted (store.interruptRuns). */
  noteInterrupted(ids: readonly string[]): void {
    for (const id of ids) this.#interrupted.add(id);
  }

  /**
   * Whether this store marked the run interrupted: its call, ended by the
   * shutdown afterwards, adds no `run.failed` to the `run.interrupted` event.
   */
  wasInterrupted(id: string): boolean {
    return this.#interrupted.size > 0 && this.#interrupted.has(id);
  }

  /** Used by openStore; callers get the instance as `store.runs`. */
  constructor(db: StoreDb, writer: BatchWriter<WriteOp>, owner: Owner, inputMaxBytes: number) {
    this.#db = db;
    this.#writer = writer;
    this.#owner = owner;
    this.#inputMaxBytes = inputMaxBytes;
  }

  /**
   * Records a run as `running` and resolves with its id once durable. The id
   * is known before that: pass `id`, or read it from the resolved value. No
   * RunRecord is built here (nobody on the call path reads one); `get` builds
   * it from the row. Throws a HostError `invalid_input` at once when the spec
   * is malformed.
   */
  start(spec: RunStart): Promise<StartedRun> {
    const s = startFast(spec) ?? parse(RunStart, spec, "run start");
    const input = s.input;
    const id = s.id ?? ulid();
    const row: RunRow = {
      id,
      parentRunId: s.parentRunId ?? null,
      pluginId: s.pluginId,
      pluginVersion: s.pluginVersion ?? null,
      moduleDigest: s.moduleDigest,
      capability: s.capability ?? null,
      exportName: s.export,
      trigger: s.trigger,
      correlationId: s.correlationId ?? null,
      inputDigest: sha256Id(input),
      inputSize: input.length,
      // Bytes into the BLOB column as they are (a view, no copy); base64 only when an API reads it.
      input: input.length <= this.#inputMaxBytes ? toBuffer(input) : null,
      outputDigest: null,
      outputSize: null,
      configFingerprint: this.#fingerprint(s.config),
      limits: JSON.stringify(s.limits),
      status: "running",
      errorClass: null,
      errorMessage: null,
      fuel: null,
      memoryPages: null,
      durationMs: null,
      startedAt: Date.now(),
      endedAt: null,
      hostName: this.#owner.hostName,
      hostPid: this.#owner.pid,
      hostInstance: this.#owner.instance,
    };
    return this.#writer.enqueueWith({ kind: "runStart", row }, { id });
  }

  /**
   * Records how a run ended; resolves once durable. A run that is no longer
   * `running` (e.g. marked interrupted) is left as it is.
   */
  finish(id: string, result: RunFinish): Promise<void> {
    const r = finishFast(result) ?? parse(RunFinish, result, "run finish");
    const usage = r.usage;
    const end: RunEnd = {
      status: r.status,
      endedAt: Date.now(),
      outputDigest: r.output === undefined ? null : sha256Id(r.output),
      outputSize: r.output === undefined ? null : r.output.length,
      errorClass: r.status === "error" ? r.errorClass : null,
      errorMessage: r.status === "error" ? r.errorMessage : null,
      fuel: usage.fuel ?? null,
      memoryPages: usage.memoryPages ?? null,
      durationMs: usage.durationMs ?? null,
    };
    return this.#writer.enqueue({ kind: "runFinish", id, end });
  }

  /**
   * The config fingerprint, remembered by canonical text: the runs of a plugin
   * share a handful of configs, and a SHA-256 per call costs more than the text.
   */
  #fingerprint(config: unknown): string {
    const text = canonical(config);
    let fingerprint = this.#fingerprints.get(text);
    if (fingerprint === undefined) {
      if (this.#fingerprints.size >= FINGERPRINTS_KEPT) this.#fingerprints.clear();
      fingerprint = sha256Id(text);
      this.#fingerprints.set(text, fingerprint);
    }
    return fingerprint;
  }

  /** One run by id, or undefined. Flushes this process's queue first. */
  async get(id: string): Promise<RunRecord | undefined> {
    await this.#writer.flush();
    try {
      const rows = await this.#db.select().from(runRecords).where(eq(runRecords.id, id)).limit(1);
      return rows[0] === undefined ? undefined : toRunRecord(rows[0]);
    } catch (error) {
      throw storageError("Cannot read run records", error);
    }
  }

  /** Runs matching the filters, newest first. Flushes this process's queue first. */
  async list(query: RunQuery = {}): Promise<RunPage> {
    const limit = Math.min(Math.max(query.limit ?? 50, 1), 1000);
    const where: SQL[] = [];
    if (query.pluginId !== undefined) where.push(eq(runRecords.pluginId, query.pluginId));
    if (query.status !== undefined) where.push(eq(runRecords.status, query.status));
    if (query.correlationId !== undefined) {
      where.push(eq(runRecords.correlationId, query.correlationId));
    }
    if (query.before !== undefined) where.push(lt(runRecords.id, query.before));
    await this.#writer.flush();
    try {
      const rows = await this.#db.select().from(runRecords).where(and(...where))
        .orderBy(desc(runRecords.id)).limit(limit);
      return {
        runs: rows.map(toRunRecord),
        cursor: rows.length === limit ? rows[rows.length - 1]!.id : null,
      };
    } catch (error) {
      throw storageError("Cannot read run records", error);
    }
  }
}

function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new HostError("invalid_input", `Invalid ${what}: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/** Canonical JSON of a config; one that is no JSON (a function, a bigint) is refused. */
function canonical(config: unknown): string {
  try {
    return canonicalJson(config);
  } catch (error) {
    throw new HostError("invalid_input", `Invalid run start: config is not JSON (${error})`);
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
