/**
 * The schedules repository: what runs when. Rows come from plugin manifests
 * (`source: "manifest"`, kept in step with the installed version) and from the
 * API/CLI (`source: "api"`). Checking a cron pattern or a capability needs the
 * scheduler and the plugin's manifest: host/scheduler does that before it
 * calls `create`; this layer checks shapes only.
 * @module
 */
import { and, asc, eq, notInArray, or, sql } from "drizzle-orm";
import { z } from "zod";
import { HostError } from "../errors.ts";
import { storageError } from "./client.ts";
import type { StoreDb } from "./ops.ts";
import { leases, schedules } from "./schema/index.ts";
import { ulid } from "./ulid.ts";

/** `active` schedules trigger; `paused` ones are kept but do not. */
export const ScheduleState = z.enum(["active", "paused"]);
export type ScheduleState = z.infer<typeof ScheduleState>;

/** What a host does on start with occurrences it missed while down. */
export const MissedPolicy = z.enum(["skip", "catch-up-once"]);
export type MissedPolicy = z.infer<typeof MissedPolicy>;

/** A schedule as callers write it: exactly one of `cron` and `intervalMs`. */
export const ScheduleInput = z.object({
  name: z.string().min(1).max(200),
  pluginId: z.string().min(1).max(200),
  capability: z.string().min(1).max(200),
  cron: z.string().min(1).max(200).optional(),
  intervalMs: z.number().int().min(1000).max(366 * 24 * 3600 * 1000).optional(),
  input: z.unknown().default({}),
  timezone: z.string().min(1).max(100).optional(),
  source: z.enum(["manifest", "api"]).default("api"),
  pluginVersion: z.string().min(1).max(100).optional(),
  state: ScheduleState.default("active"),
  missed: MissedPolicy.default("skip"),
  /** Start of interval counting (default: now, to the whole second). */
  anchorAt: z.number().int().nonnegative().optional(),
}).refine((s) => (s.cron === undefined) !== (s.intervalMs === undefined), {
  message: "give exactly one of cron and intervalMs",
});
export type ScheduleInput = z.input<typeof ScheduleInput>;

/** A stored schedule. */
export interface Schedule {
  id: string;
  name: string;
  pluginId: string;
  capability: string;
  cron: string | null;
  intervalMs: number | null;
  input: unknown;
  timezone: string | null;
  source: "manifest" | "api";
  pluginVersion: string | null;
  state: ScheduleState;
  missed: MissedPolicy;
  anchorAt: number;
  createdAt: number;
  updatedAt: number;
}

/** Schedules, one row each, unique by name. */
export class SchedulesRepository {
  readonly #db: StoreDb;

  /** Over an open store's database: `new SchedulesRepository(store.db)`. */
  constructor(db: StoreDb) {
    this.#db = db;
  }

  /** Adds a schedule; a taken name is a `conflict`. */
  async create(input: ScheduleInput, now: number = Date.now()): Promise<Schedule> {
    const row = toRow(parse(input), ulid(), now);
    if (await this.get(row.name)) {
      throw new HostError(
        "conflict",
        `A schedule named '${row.name}' exists: pick another --name or remove it first`,
      );
    }
    await this.#run("write schedules", () => this.#db.insert(schedules).values(row));
    return toSchedule(row);
  }

  /** Every schedule, by name (optionally of one plugin). */
  async list(filter: { pluginId?: string | undefined } = {}): Promise<Schedule[]> {
    const rows = await this.#run("read schedules", () =>
      this.#db.select().from(schedules).where(
        filter.pluginId === undefined ? undefined : eq(schedules.pluginId, filter.pluginId),
      ).orderBy(asc(schedules.name)));
    return rows.map(toSchedule);
  }

  /**
   * A short text that changes whenever a schedule is added, changed or
   * removed (row count and the sum of update times), so pollers can skip
   * reading the whole table when it did not.
   */
  async signature(): Promise<string> {
    const rows = await this.#run("read schedules", () =>
      this.#db.select({
        n: sql<number>`count(*)`,
        sum: sql<number>`total(${schedules.updatedAt})`,
      }).from(schedules));
    return `${rows[0]?.n ?? 0}:${rows[0]?.sum ?? 0}`;
  }

  /** The schedule with this name or id, or undefined. */
  async get(nameOrId: string): Promise<Schedule | undefined> {
    const rows = await this.#run("read schedules", () =>
      this.#db.select().from(schedules).where(
        or(eq(schedules.name, nameOrId), eq(schedules.id, nameOrId)),
      ).limit(1));
    return rows[0] === undefined ? undefined : toSchedule(rows[0]);
  }

  /** Pauses or resumes a schedule; undefined when there is none. */
  async setState(
    nameOrId: string,
    state: ScheduleState,
    now: number = Date.now(),
  ): Promise<Schedule | undefined> {
    const rows = await this.#run(
      "write schedules",
      () =>
        this.#db.update(schedules).set({ state, updatedAt: now }).where(
          or(eq(schedules.name, nameOrId), eq(schedules.id, nameOrId)),
        ).returning(),
    );
    return rows[0] === undefined ? undefined : toSchedule(rows[0]);
  }

  /** Removes a schedule and its leases; the removed schedule, or undefined. */
  async remove(nameOrId: string): Promise<Schedule | undefined> {
    const found = await this.get(nameOrId);
    if (!found) return undefined;
    await this.#run("write schedules", async () => {
      await this.#db.delete(schedules).where(eq(schedules.id, found.id));
      await this.#db.delete(leases).where(eq(leases.scheduleId, found.id));
    });
    return found;
  }

  /**
   * Makes a plugin's manifest schedules match `declared` (the manifest of
   * `version`): adds new ones, updates changed ones (keeping their state),
   * removes the ones the version no longer declares. Names are stored as
   * `<plugin id>/<name>`. Returns what changed.
   */
  async syncManifest(
    pluginId: string,
    version: string,
    declared: Omit<ScheduleInput, "pluginId" | "source" | "pluginVersion">[],
    now: number = Date.now(),
  ): Promise<{ added: string[]; updated: string[]; removed: string[] }> {
    const existing = new Map(
      (await this.list({ pluginId })).filter((s) => s.source === "manifest").map((
        s,
      ) => [s.name, s]),
    );
    const result = { added: [] as string[], updated: [] as string[], removed: [] as string[] };
    const names: string[] = [];
    for (const d of declared) {
      const parsed = parse({
        ...d,
        name: `${pluginId}/${d.name}`,
        pluginId,
        source: "manifest",
        pluginVersion: version,
      });
      names.push(parsed.name);
      const old = existing.get(parsed.name);
      if (!old) {
        await this.#run(
          "write schedules",
          () => this.#db.insert(schedules).values(toRow(parsed, ulid(), now)).onConflictDoNothing(),
        );
        result.added.push(parsed.name);
      } else if (differs(old, parsed)) {
        const row = toRow({ ...parsed, state: old.state, anchorAt: old.anchorAt }, old.id, now);
        const { id: _id, createdAt: _c, ...set } = row;
        await this.#run(
          "write schedules",
          () => this.#db.update(schedules).set(set).where(eq(schedules.id, old.id)),
        );
        result.updated.push(parsed.name);
      }
    }
    const gone = [...existing.values()].filter((s) => !names.includes(s.name));
    if (gone.length > 0) {
      await this.#run("write schedules", async () => {
        await this.#db.delete(schedules).where(and(
          eq(schedules.pluginId, pluginId),
          eq(schedules.source, "manifest"),
          names.length === 0 ? undefined : notInArray(schedules.name, names),
        ));
      });
      result.removed.push(...gone.map((s) => s.name));
    }
    return result;
  }

  async #run<T>(what: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw storageError(`Cannot ${what}`, error);
    }
  }
}

type Parsed = z.output<typeof ScheduleInput>;

function parse(input: ScheduleInput): Parsed {
  const parsed = ScheduleInput.safeParse(input);
  if (!parsed.success) {
    throw new HostError("invalid_input", `Invalid schedule: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

function toRow(s: Parsed, id: string, now: number): typeof schedules.$inferSelect {
  return {
    id,
    name: s.name,
    pluginId: s.pluginId,
    capability: s.capability,
    cron: s.cron ?? null,
    intervalMs: s.intervalMs ?? null,
    input: JSON.stringify(s.input ?? {}),
    timezone: s.timezone ?? null,
    source: s.source,
    pluginVersion: s.pluginVersion ?? null,
    state: s.state,
    missed: s.missed,
    anchorAt: s.anchorAt ?? Math.floor(now / 1000) * 1000,
    createdAt: now,
    updatedAt: now,
  };
}

function differs(old: Schedule, next: Parsed): boolean {
  return old.capability !== next.capability || old.cron !== (next.cron ?? null) ||
    old.intervalMs !== (next.intervalMs ?? null) ||
    JSON.stringify(old.input) !== JSON.stringify(next.input ?? {}) ||
    old.timezone !== (next.timezone ?? null) ||
    old.pluginVersion !== (next.pluginVersion ?? null) ||
    old.missed !== next.missed;
}

function toSchedule(row: typeof schedules.$inferSelect): Schedule {
  return {
    id: row.id,
    name: row.name,
    pluginId: row.pluginId,
    capability: row.capability,
    cron: row.cron,
    intervalMs: row.intervalMs,
    input: JSON.parse(row.input) as unknown,
    timezone: row.timezone,
    source: row.source === "manifest" ? "manifest" : "api",
    pluginVersion: row.pluginVersion,
    state: ScheduleState.catch("active").parse(row.state),
    missed: MissedPolicy.catch("skip").parse(row.missed),
    anchorAt: row.anchorAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
