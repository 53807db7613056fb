/**
 * Extism's answers to worker host calls leave out the freed block slots the
 * worker just listed (host/sandbox/block-sync.ts), on Extism's real call
 * context; and the host-call gate hands Extism a host call only once its
 * answer to the last one is through its handshake with the worker
 * (host/sandbox/invoke-gate.ts), without which answers of equal length
 * stalled 500 ms each now and then. The speed itself is a benchmark figure
 * (hostile.bench.ts), not asserted here.
 */
import { EventEmitter } from "node:events";
import createPlugin, { type CallContext, type Plugin } from "@extism/extism";
import { describe, expect, it } from "vitest";
import { trimEchoedNulls } from "../../host/sandbox/block-sync.ts";
import { gateHostCallMessages } from "../../host/sandbox/invoke-gate.ts";
import { loadPlugin } from "../../host/sandbox/mod.ts";
import { fixture, utf8 } from "./fixtures.ts";

type Entry = [ArrayBuffer | null, number];
interface Table {
  stack: unknown[];
  blocks: Entry[];
}

/** Extism's own call context (the class a worker plugin's host side has), from a host function. */
async function extismContext(): Promise<{ context: object; close: () => Promise<void> }> {
  let context: object | null = null;
  const plugin = await createPlugin(
    { wasm: [{ data: fixture("host-call-loop") }] },
    {
      useWasi: false,
      functions: {
        "extism:host/user": {
          probe: (ctx: CallContext) => {
            context = ctx;
            return ctx.store('{"ok":true}');
          },
        },
      },
    },
  );
  await plugin.call("times", new Uint8Array(1));
  if (context === null) throw new Error("the host function was not called");
  return { context, close: () => plugin.close() };
}

function methods(context: object) {
  const proto = Object.getPrototypeOf(context) as Record<symbol, unknown> | null;
  const find = (name: string) => {
    const key = proto
      ? Object.getOwnPropertySymbols(proto).find((s) => s.description === name)
      : undefined;
    return key === undefined
      ? undefined
      : (...args: unknown[]) => (proto![key] as (...a: unknown[]) => unknown).apply(context, args);
  };
  return {
    imports: find("import-state") as ((state: Table, copy?: boolean) => void) | undefined,
    exports: find("export-state") as (() => Table) | undefined,
    reset: find("reset") as (() => void) | undefined,
  };
}

describe("Extism's answers leave out the freed slots the worker just listed", () => {
  it("trims only what the worker sent as null, only for a gated context, and forgets it at a reset", async () => {
    const { context, close } = await extismContext();
    try {
      const m = methods(context);
      const nulls = (table: Table) => table.blocks.filter(([b]) => b === null).map(([, i]) => i);
      // The worker's table: slots 1-4 freed.
      const workerState = (): Table => ({
        stack: [],
        blocks: [[null, 1], [null, 2], [null, 3], [null, 4]],
      });
      // Not trimmed before the context is marked: Extism sends every null slot back.
      m.imports!(workerState(), true);
      expect(nulls(m.exports!())).toEqual([1, 2, 3, 4]);
      expect(trimEchoedNulls(context)).toBe(true);
      m.imports!(workerState(), true);
      expect(nulls(m.exports!())).toEqual([]);
      // Only the next export is trimmed: the record is of one exchange.
      expect(nulls(m.exports!())).toEqual([1, 2, 3, 4]);
      // A slot the worker still had live, freed on the host's side, is sent.
      m.imports!({ stack: [], blocks: [[null, 1], [null, 2], [null, 3]] }, true);
      expect(nulls(m.exports!())).toEqual([4]);
      // A reset starts the slots over: nothing is left out after it.
      m.imports!(workerState(), true);
      m.reset!();
      expect(m.exports!().blocks.length).toBe(0);
      m.imports!({ stack: [], blocks: [[null, 1]] }, true);
      m.reset!();
      m.imports!({ stack: [], blocks: [[new ArrayBuffer(2), 1]] }, true);
      expect(m.exports!().blocks.every(([b]) => b !== null)).toBe(true);
    } finally {
      await close();
    }
  });

  it("a worker plugin's many host calls in one call still answer correctly", async () => {
    const answers: string[] = [];
    const plugin = await loadPlugin(fixture("host-call-loop"), {
      mode: "worker",
      concurrency: 1,
      limits: { timeoutMs: 60_000, fuel: 10_000_000_000n },
      hostFunctions: {
        probe: () => {
          answers.push("x");
          return utf8(`{"n":${answers.length}}`);
        },
      },
    });
    try {
      for (let round = 0; round < 3; round++) {
        answers.length = 0;
        const r = await plugin.call("times", new Uint8Array(300));
        expect(r.ok).toBe(true);
        if (r.ok) expect(new TextDecoder().decode(r.output)).toBe('{"n":300}');
      }
    } finally {
      await plugin.close();
    }
  });
});

/** Resolves once `done()` holds (checked every 5 ms), failing after 5 s. */
async function until(done: () => boolean): Promise<void> {
  for (let waited = 0; !done(); waited += 5) {
    if (waited > 5_000) throw new Error("the condition did not hold within 5 s");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("the gate hands Extism a host call only after its last answer's handshake", () => {
  it("the second host call waits until Extism's handling of the first has settled", async () => {
    const worker = new EventEmitter();
    const entered: number[] = [];
    const finish: Array<() => void> = [];
    // Extism's own listener: answers a host call, then waits for the worker to take the answer.
    worker.on("message", (message: { n: number }) => {
      entered.push(message.n);
      return new Promise<void>((resolve) => finish.push(resolve));
    });
    const plugin = { worker } as unknown as Plugin;
    expect(gateHostCallMessages(plugin, { until: 0 }, () => false)).toBe(true);
    worker.emit("message", { type: "invoke", n: 1 });
    worker.emit("message", { type: "invoke", n: 2 });
    // The host-call gate is shared by the whole process: its turn may take a few ms.
    await until(() => entered.length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(entered).toEqual([1]);
    finish[0]!();
    await until(() => entered.length === 2);
    expect(entered).toEqual([1, 2]);
    finish[1]!();
    // Other messages (a call's return) are not held.
    worker.emit("message", { type: "return", n: 3 });
    expect(entered).toEqual([1, 2, 3]);
  });
});
