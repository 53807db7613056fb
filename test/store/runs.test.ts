import createPlugin from "@extism/extism";
import { Buffer } from "node:buffer";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { sha256Id as sha256 } from "../../host/artifact/mod.ts";
import { HostError } from "../../host/errors.ts";
import {
  configFingerprint,
  openStore,
  RunFinish,
  RunStart,
  type Store,
} from "../../host/store/mod.ts";
import { conformanceDir, conformanceTitle, hasConformance } from "../helpers/conformance.ts";
import { tempDb } from "./helpers.ts";

const run = promisify(execFile);
const limits = { memoryMaxPages: 256, timeoutMs: 2000 };

let db: ReturnType<typeof tempDb>;
let store: Store;
beforeEach(async () => {
  db = tempDb();
  store = await openStore({ url: db.url });
});
afterEach(async () => {
  await store.close();
  db.cleanup();
});

/** Calls an export of a real Extism plugin and records the run as a caller of the store would. */
async function recordedCall(file: string, exportName: string, input: string) {
  const wasm = new Uint8Array(readFileSync(join(conformanceDir, file)));
  const bytes = new TextEncoder().encode(input);
  const run = await store.runs.start({
    pluginId: `conformance.${file.replace(".wasm", "")}`,
    pluginVersion: "1.0.0",
    moduleDigest: sha256(wasm),
    capability: exportName,
    export: exportName,
    trigger: "cli",
    input: bytes,
    config: { b: [1, 2], a: { y: true, x: null } },
    limits,
  });
  const plugin = await createPlugin({ wasm: [{ data: wasm }] }, { useWasi: false });
  const started = performance.now();
  try {
    const out = await plugin.call(exportName, bytes);
    const output = out === null ? new Uint8Array() : out.bytes();
    await store.runs.finish(run.id, {
      status: "ok",
      output,
      usage: { durationMs: Math.round(performance.now() - started) },
    });
    return { id: run.id, wasm, output };
  } catch (error) {
    await store.runs.finish(run.id, {
      status: "error",
      errorClass: "plugin_error",
      errorMessage: error instanceof Error ? error.message : String(error),
      usage: { durationMs: Math.round(performance.now() - started) },
    });
    return { id: run.id, wasm, output: undefined };
  } finally {
    await plugin.close();
  }
}

describe("run records", () => {
  // These two call Extism conformance plugins; without them (a clone elsewhere) they skip, named.
  it.skipIf(!hasConformance)(
    conformanceTitle(
      "records an ok run of a real plugin with digests, fingerprint, limits and usage",
    ),
    async () => {
      const { id, wasm, output } = await recordedCall("code.wasm", "count_vowels", "hello world");
      const record = await store.runs.get(id);
      expect(record).toMatchObject({
        id,
        parentRunId: null,
        pluginId: "conformance.code",
        pluginVersion: "1.0.0",
        moduleDigest: sha256(wasm),
        capability: "count_vowels",
        export: "count_vowels",
        trigger: "cli",
        inputDigest: sha256("hello world"),
        inputSize: 11,
        input: btoa("hello world"),
        outputDigest: sha256(output!),
        outputSize: output!.length,
        // Same config with keys in another order: same fingerprint.
        configFingerprint: configFingerprint({ a: { x: null, y: true }, b: [1, 2] }),
        limits,
        status: "ok",
        error: null,
      });
      expect(record!.usage.durationMs).toBeGreaterThanOrEqual(0);
      expect(Date.parse(record!.endedAt!)).toBeGreaterThanOrEqual(Date.parse(record!.startedAt));
      expect(record!.configFingerprint).toBe(
        sha256('{"a":{"x":null,"y":true},"b":[1,2]}'),
      );
    },
  );

  it.skipIf(!hasConformance)(
    conformanceTitle("records a plugin_error run of a real failing plugin with its message"),
    async () => {
      const { id } = await recordedCall("fail.wasm", "run_test", "");
      const record = await store.runs.get(id);
      expect(record).toMatchObject({ status: "error", outputDigest: null, inputSize: 0 });
      expect(record!.error).toEqual({
        class: "plugin_error",
        message: expect.stringContaining("Some error message"),
      });
    },
  );

  it("records fuel_exhausted and memory_limit runs with the usage the sandbox reports", async () => {
    // The sandbox (another module) classifies these; the store must keep class, message and usage.
    const base = {
      pluginId: "p.limits",
      moduleDigest: sha256("m"),
      export: "spin",
      trigger: "http" as const,
      input: new Uint8Array(),
    };
    const fuel = await store.runs.start({ ...base, limits: { fuel: 1_000_000 } });
    const memory = await store.runs.start({ ...base, limits: { memoryMaxPages: 4 } });
    await store.runs.finish(fuel.id, {
      status: "error",
      errorClass: "fuel_exhausted",
      errorMessage: "The plugin used all 1000000 units of fuel",
      usage: { fuel: 1_000_000, memoryPages: 2, durationMs: 41 },
    });
    await store.runs.finish(memory.id, {
      status: "error",
      errorClass: "memory_limit",
      errorMessage: "The plugin tried to grow memory past 4 pages",
      usage: { fuel: 5123, memoryPages: 4 },
    });
    const f = await store.runs.get(fuel.id);
    expect(f).toMatchObject({
      status: "error",
      error: { class: "fuel_exhausted", message: "The plugin used all 1000000 units of fuel" },
      usage: { fuel: 1_000_000, memoryPages: 2, durationMs: 41 },
      limits: { fuel: 1_000_000 },
      trigger: "http",
    });
    const m = await store.runs.get(memory.id);
    expect(m).toMatchObject({
      status: "error",
      error: { class: "memory_limit" },
      limits: { memoryMaxPages: 4 },
    });
    // No duration from the sandbox: the store takes wall time from start to end.
    expect(m!.usage).toMatchObject({ fuel: 5123, memoryPages: 4 });
    expect(m!.usage.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("keeps the input only up to the configured bound, always its digest and size", async () => {
    await store.close();
    store = await openStore({ url: db.url, inputMaxBytes: 4 });
    const big = await store.runs.start({
      pluginId: "p",
      moduleDigest: "d",
      export: "e",
      trigger: "invoke",
      input: new Uint8Array(5),
      parentRunId: "parent-1",
    });
    const small = await store.runs.start({
      pluginId: "p",
      moduleDigest: "d",
      export: "e",
      trigger: "schedule",
      input: new Uint8Array(4),
    });
    expect(await store.runs.get(big.id)).toMatchObject({
      input: null,
      inputSize: 5,
      inputDigest: sha256(new Uint8Array(5)),
      parentRunId: "parent-1",
    });
    expect(await store.runs.get(small.id)).toMatchObject({ input: "AAAAAA==", inputSize: 4 });
  });

  it("orders a finish after its start even when the start is not awaited", async () => {
    const id = "run-unawaited";
    void store.runs.start({
      id,
      pluginId: "p",
      moduleDigest: "d",
      export: "e",
      trigger: "event",
      input: new Uint8Array(),
    });
    await store.runs.finish(id, { status: "ok", output: new Uint8Array([1]) });
    expect(await store.runs.get(id)).toMatchObject({
      status: "ok",
      outputSize: 1,
      trigger: "event",
    });
  });

  it("lists newest first, filtered by plugin and status, with a cursor", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await store.runs.start({
        pluginId: i < 3 ? "a" : "b",
        moduleDigest: "d",
        export: "e",
        trigger: "cli",
        input: new Uint8Array(),
      });
      ids.push(r.id);
      if (i % 2 === 0) await store.runs.finish(r.id, { status: "ok", output: new Uint8Array() });
    }
    const all = await store.runs.list();
    expect(all.runs.map((r) => r.id)).toEqual([...ids].reverse());
    expect((await store.runs.list({ pluginId: "a" })).runs).toHaveLength(3);
    expect((await store.runs.list({ status: "running" })).runs.map((r) => r.id)).toEqual([
      ids[3],
      ids[1],
    ]);
    const page1 = await store.runs.list({ limit: 3 });
    const page2 = await store.runs.list({ limit: 3, before: page1.cursor! });
    expect([...page1.runs, ...page2.runs].map((r) => r.id)).toEqual([...ids].reverse());
    expect(page2.cursor).toBeNull();
  });

  it("refuses malformed run specs at once", () => {
    expect(() =>
      store.runs.start({
        pluginId: "",
        moduleDigest: "d",
        export: "e",
        trigger: "cli",
        input: new Uint8Array(),
      })
    ).toThrow(HostError);
    // An unknown trigger is a type error and, from untyped callers, a runtime error.
    const untyped = {
      pluginId: "p",
      moduleDigest: "d",
      export: "e",
      trigger: "cron",
      input: new Uint8Array(),
    };
    expect(() => store.runs.start(untyped as unknown as RunStart)).toThrow(/trigger/);
  });
});

describe("the call path's RunRecord work", () => {
  const base = {
    pluginId: "p",
    moduleDigest: "d",
    export: "e",
    trigger: "cli" as const,
    input: new Uint8Array([1]),
  };

  it("resolves start with the run id only: no RunRecord is built per call", async () => {
    const started = await store.runs.start({ ...base, id: "run-id-only" });
    expect(started).toEqual({ id: "run-id-only" });
    expect((await store.runs.get("run-id-only"))?.input).toBe("AQ==");
  });

  it("checks the specs the host builds without zod, and sends only the rest through it", async () => {
    const startParse = vi.spyOn(RunStart, "safeParse");
    const finishParse = vi.spyOn(RunFinish, "safeParse");
    try {
      const { id } = await store.runs.start({ ...base, config: { a: 1 }, limits: { fuel: 5 } });
      await store.runs.finish(id, { status: "ok", output: new Uint8Array(), usage: { fuel: 1 } });
      expect(startParse).not.toHaveBeenCalled();
      expect(finishParse).not.toHaveBeenCalled();
      expect(() => store.runs.start({ ...base, pluginId: "" })).toThrow(/pluginId/);
      expect(startParse).toHaveBeenCalledTimes(1);
    } finally {
      startParse.mockRestore();
      finishParse.mockRestore();
    }
  });

  it("stores the input as bytes and returns it as base64 only when read, byte for byte", async () => {
    const input = new Uint8Array(65536);
    for (let i = 0; i < input.length; i++) input[i] = (i * 7919 + (i >> 8)) & 0xff;
    const { id } = await store.runs.start({ ...base, input });
    const row = await store.client.execute({
      sql: "SELECT typeof(input) AS kind, length(input) AS size FROM run_records WHERE id = ?",
      args: [id],
    });
    expect(row.rows[0]).toMatchObject({ kind: "blob", size: 65536 });
    const record = await store.runs.get(id);
    expect(record?.input).toBe(Buffer.from(input).toString("base64"));
    expect(record?.inputDigest).toBe(sha256(input));
    expect(Uint8Array.from(atob(record!.input!), (c) => c.charCodeAt(0))).toEqual(input);
  });

  it("fingerprints each config right, past the bound of remembered fingerprints", async () => {
    const ids: { id: string; config: { n: number; same: string } }[] = [];
    for (let n = 0; n < 300; n++) {
      const config = { same: "x", n: n % 290 };
      ids.push({ ...(await store.runs.start({ ...base, config })), config });
    }
    const { runs } = await store.runs.list({ limit: 1000 });
    const byId = new Map(runs.map((r) => [r.id, r.configFingerprint]));
    for (const { id, config } of ids) expect(byId.get(id)).toBe(configFingerprint(config));
    expect(new Set(runs.map((r) => r.configFingerprint)).size).toBe(290);
  });

  it("writes the finishes of one batch together, each as if alone", async () => {
    const ids: string[] = [];
    for (let n = 0; n < 50; n++) ids.push((await store.runs.start({ ...base, id: `b${n}` })).id);
    // Queued in one tick, so one transaction: ok and error finishes, a run finished twice
    // (the first finish wins) and one with no duration from the sandbox (wall time is taken).
    const pending = ids.map((id, n) =>
      n % 2 === 0
        ? store.runs.finish(id, {
          status: "ok",
          output: new Uint8Array([n]),
          usage: { fuel: n, memoryPages: 1, durationMs: n === 0 ? undefined : n },
        })
        : store.runs.finish(id, {
          status: "error",
          errorClass: "timeout",
          errorMessage: `late ${n}`,
          usage: { durationMs: n },
        })
    );
    pending.push(store.runs.finish("b2", { status: "error", errorClass: "x", errorMessage: "no" }));
    pending.push(store.runs.finish("no-such-run", { status: "ok", output: new Uint8Array() }));
    await Promise.all(pending);
    const { runs } = await store.runs.list({ limit: 100 });
    const byId = new Map(runs.map((r) => [r.id, r]));
    for (const [n, id] of ids.entries()) {
      const r = byId.get(id)!;
      if (n % 2 === 0) {
        expect(r).toMatchObject({ status: "ok", outputSize: 1, error: null });
        expect(r.outputDigest).toBe(sha256(new Uint8Array([n])));
        expect(r.usage.fuel).toBe(n);
        if (n > 0) expect(r.usage.durationMs).toBe(n);
      } else {
        expect(r).toMatchObject({
          status: "error",
          outputDigest: null,
          error: { class: "timeout", message: `late ${n}` },
          usage: { fuel: null, memoryPages: null, durationMs: n },
        });
      }
      expect(r.endedAt).not.toBeNull();
    }
    expect(byId.get("b0")!.usage.durationMs).toBeGreaterThanOrEqual(0);
    expect(byId.has("no-such-run")).toBe(false);
  });

  it("keeps queue order where it matters: a finish queued before its start does nothing", async () => {
    // One tick, one batch: the writer groups starts, finishes and events, except here.
    const early = store.runs.finish("late-start", { status: "ok", output: new Uint8Array() });
    const started = store.runs.start({ ...base, id: "late-start" });
    const other = store.runs.start({ ...base, id: "in-order" });
    const event = store.events.append({ type: "between.runs", runId: "in-order" });
    const done = store.runs.finish("in-order", { status: "ok", output: new Uint8Array([1]) });
    await Promise.all([early, started, other, event, done]);
    expect(await store.runs.get("late-start")).toMatchObject({ status: "running", endedAt: null });
    expect(await store.runs.get("in-order")).toMatchObject({ status: "ok", outputSize: 1 });
    expect((await store.events.query({ type: "between.runs" })).events).toHaveLength(1);
  });

  // The hand check of the call path must accept exactly what the zod schemas accept.
  const starts: [string, unknown][] = [
    ["minimal", base],
    ["every field", {
      ...base,
      id: "x",
      parentRunId: null,
      pluginVersion: "1",
      capability: null,
      correlationId: "c",
      config: { a: [1, "b", null, { c: true }] },
      limits: { fuel: 1 },
    }],
    ["an unknown key", { ...base, extra: 1 }],
    ["an empty plugin id", { ...base, pluginId: "" }],
    ["a long plugin id", { ...base, pluginId: "p".repeat(201) }],
    ["a numeric id", { ...base, id: 5 }],
    ["an unknown trigger", { ...base, trigger: "cron" }],
    ["a string input", { ...base, input: "abc" }],
    ["an array input", { ...base, input: [1, 2] }],
    ["a long version", { ...base, pluginVersion: "v".repeat(101) }],
    ["an empty export", { ...base, export: "" }],
    ["a string limit", { ...base, limits: { fuel: "1" } }],
    ["an infinite limit", { ...base, limits: { fuel: Infinity } }],
    ["a function in the config", { ...base, config: { f: () => 1 } }],
    ["a bigint in the config", { ...base, config: { n: 1n } }],
    ["NaN in the config", { ...base, config: [Number.NaN] }],
    ["a Date in the config", { ...base, config: { d: new Date(0) } }],
    ["null", null],
  ];
  it.each(starts)("start with %s: accepted exactly when zod accepts it", async (_, spec) => {
    const accepted = RunStart.safeParse(spec).success;
    let error: unknown;
    try {
      await store.runs.start(spec as RunStart);
    } catch (e) {
      error = e;
    }
    if (accepted) expect(error).toBeUndefined();
    else expect(error).toMatchObject({ code: "invalid_input" });
  });

  const finishes: [string, unknown][] = [
    ["ok", { status: "ok", output: new Uint8Array() }],
    ["ok with usage", {
      status: "ok",
      output: new Uint8Array(),
      usage: { fuel: 1, memoryPages: null },
    }],
    ["ok without output", { status: "ok" }],
    ["negative fuel", { status: "ok", output: new Uint8Array(), usage: { fuel: -1 } }],
    ["fractional duration", { status: "ok", output: new Uint8Array(), usage: { durationMs: 1.5 } }],
    ["error", { status: "error", errorClass: "timeout", errorMessage: "" }],
    ["error with output", {
      status: "error",
      errorClass: "timeout",
      errorMessage: "m",
      output: new Uint8Array(1),
    }],
    ["an empty error class", { status: "error", errorClass: "", errorMessage: "m" }],
    ["a long message", { status: "error", errorClass: "c", errorMessage: "m".repeat(10_001) }],
    ["an unknown status", { status: "done", output: new Uint8Array() }],
  ];
  it.each(finishes)("finish with %s: accepted exactly when zod accepts it", async (_, result) => {
    const { id } = await store.runs.start(base);
    const accepted = RunFinish.safeParse(result).success;
    let error: unknown;
    try {
      await store.runs.finish(id, result as RunFinish);
    } catch (e) {
      error = e;
    }
    if (accepted) expect(error).toBeUndefined();
    else expect(error).toMatchObject({ code: "invalid_input" });
  });
});

describe("interrupted runs", () => {
  it("marks the runs of a host process that died as interrupted on the next open", async () => {
    await run("node", [
      "scripts/run-ts.mjs",
      "test/store/fixtures/child.ts",
      "die",
      db.url,
      "run-died",
    ]);
    const later = await openStore({ url: db.url });
    try {
      expect(later.opened.interrupted).toEqual(["run-died"]);
      const record = await later.runs.get("run-died");
      expect(record).toMatchObject({
        status: "interrupted",
        error: { class: "interrupted" },
        trigger: "http",
      });
      expect(record!.endedAt).not.toBeNull();
      const events = await later.events.query({ type: "run.interrupted" });
      expect(events.events.map((e) => e.runId)).toEqual(["run-died"]);
    } finally {
      await later.close();
    }
  });

  it("leaves the runs of a store still open in this process alone, until it closes", async () => {
    const live = await store.runs.start({
      pluginId: "p",
      moduleDigest: "d",
      export: "e",
      trigger: "cli",
      input: new Uint8Array(),
    });
    const second = await openStore({ url: db.url });
    expect(second.opened.interrupted).toEqual([]);
    await second.close();
    await store.close();
    store = await openStore({ url: db.url });
    expect(store.opened.interrupted).toEqual([live.id]);
  });
});
