/**
 * A run started and finished in one writer batch is inserted finished
 * (host/store/ops.ts, byKind): one statement fewer per short run, and the
 * same record as when the finish lands in a later batch.
 * @module
 */
import { describe, expect, it } from "vitest";
import {
  type EventRow,
  opsStatements,
  type ReplayRow,
  type RunEnd,
  type RunRow,
  type WriteOp,
} from "../../host/store/ops.ts";
import { storePerTest } from "./helpers.ts";

const t = storePerTest();

const start = (id: string) => ({
  id,
  pluginId: "test.merge",
  pluginVersion: "1.0.0",
  moduleDigest: "sha256:00",
  capability: "echo",
  export: "echo",
  trigger: "cli" as const,
  input: new TextEncoder().encode('"hi"') as Uint8Array<ArrayBuffer>,
  limits: { fuel: 1000 },
});

describe("runs started and finished in one batch", () => {
  it("are one INSERT; a second finish of the run still comes after it", () => {
    const row = { id: "r1", status: "running", startedAt: 1000 } as RunRow;
    const end: RunEnd = { status: "ok", endedAt: 1500, durationMs: null };
    const ops: WriteOp[] = [
      { kind: "runStart", row },
      { kind: "runFinish", id: "r1", end },
    ];
    const statements = opsStatements(ops);
    expect(statements).toHaveLength(1);
    expect(opsStatements([...ops, { kind: "runFinish", id: "r1", end }])).toHaveLength(2);
  });

  it("group each run's replay record and event by kind: one statement each, not one per run", () => {
    const ops: WriteOp[] = [];
    for (const id of ["r1", "r2", "r3"]) {
      ops.push({ kind: "runStart", row: { id, status: "running", startedAt: 1000 } as RunRow });
      ops.push({ kind: "replay", row: { runId: id } as ReplayRow });
      ops.push({ kind: "event", row: { id: `e-${id}`, schemaVersion: 1 } as EventRow });
    }
    const sql = opsStatements(ops).map((s) => (typeof s === "string" ? s : s.sql));
    expect(sql).toHaveLength(3);
    expect(sql[1]).toContain("run_replay");
    expect(sql[2]).toContain("events");
  });

  it("record the same as a finish in a later batch, duration from the clock when none is given", async () => {
    const store = t.store;
    // Same batch: neither call is awaited before the other is queued.
    const a = store.runs.start(start("01MERGEA000000000000000000"));
    const b = store.runs.finish("01MERGEA000000000000000000", {
      status: "error",
      errorClass: "plugin_error",
      errorMessage: "boom",
      usage: { fuel: 42, memoryPages: 2 },
    });
    await Promise.all([a, b]);
    // Two batches.
    await store.runs.start(start("01MERGEB000000000000000000"));
    await store.flush();
    await store.runs.finish("01MERGEB000000000000000000", {
      status: "error",
      errorClass: "plugin_error",
      errorMessage: "boom",
      usage: { fuel: 42, memoryPages: 2 },
    });
    const merged = await store.runs.get("01MERGEA000000000000000000");
    const apart = await store.runs.get("01MERGEB000000000000000000");
    expect(merged?.status).toBe("error");
    expect(merged?.usage.durationMs).toBeGreaterThanOrEqual(0);
    expect(merged?.endedAt).not.toBeNull();
    const same = (r: typeof merged) => ({
      ...r,
      id: 0,
      startedAt: 0,
      endedAt: 0,
      usage: { ...r?.usage, durationMs: 0 },
    });
    expect(same(merged)).toEqual(same(apart));
  });
});
