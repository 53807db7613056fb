/**
 * The sandbox on Deno: hostile plugins end with their class in both modes,
 * promptly, with no thread left spinning and no hang.
 * Run: npx deno test -A test/deno/sandbox.test.ts
 */
import assert from "node:assert/strict";
import { HOST_FUNCTION_FUEL, loadPlugin } from "../../host/sandbox/mod.ts";
import { hostCallGate } from "../../host/sandbox/host-call-gate.ts";
import {
  BULK_FILL_FUEL,
  conformance,
  fixture,
  HOST_CALL_TIMES_FUEL,
  spinningThreads,
  text,
  threadIds,
  utf8,
} from "../sandbox/fixtures.ts";
import { conformanceTitle, hasConformance } from "../helpers/conformance.ts";

// Extism's workers and timers outlive single tests by design (closed at the end of each).
const opts = { sanitizeOps: false, sanitizeResources: false };
const none = new Uint8Array();

for (const mode of ["main", "worker"] as const) {
  Deno.test(
    `${mode}: an infinite loop ends with fuel_exhausted, no thread left spinning`,
    opts,
    async () => {
      const before = threadIds();
      // Instrumented on this thread: an instrumenter thread may still be making the worker variant
      // in its spare time when the test looks for plugin threads left spinning.
      const plugin = await loadPlugin(fixture("spin"), {
        mode,
        limits: { fuel: 1_000_000n },
        instrumentThreads: false,
      });
      try {
        const result = await plugin.call("run", none);
        assert.equal(result.ok ? "ok" : result.error.class, "fuel_exhausted");
        assert.equal(result.usage.fuel, 1_000_000);
        // A thread left spinning would be running at every look, whatever the machine's speed.
        assert.deepEqual(await spinningThreads(before), []);
        assert.equal((await plugin.call("noop", none)).ok, true);
      } finally {
        await plugin.close();
      }
    },
  );

  Deno.test(
    `${mode}: an unknown import fails the load with load_error naming it`,
    opts,
    async () => {
      const error = await loadPlugin(fixture("unknown-import"), { mode }).catch((e) => e);
      assert.equal(error.code, "load_error");
      assert.match(error.message, /mystery_function/);
    },
  );

  Deno.test(`${mode}: a start section that never ends fails the load`, opts, async () => {
    const error = await loadPlugin(fixture("start-spin"), { mode, limits: { fuel: 10_000_000n } })
      .catch((e) => e);
    assert.ok(["load_error", "fuel_exhausted"].includes(error.code), String(error));
  });

  Deno.test(`${mode}: start code gets one main-thread slice, not the budget`, opts, async () => {
    const error = await loadPlugin(fixture("start-spin"), {
      mode,
      limits: { fuel: 100_000_000_000n },
    }).catch((e) => e);
    assert.equal(error.code, "load_error");
    assert.match(error.message, /20000000 fuel: start code runs on the host's thread/);
    const work = fixture("start-work");
    assert.equal((await loadPlugin(work, { mode }).catch((e) => e)).code, "load_error");
    const plugin = await loadPlugin(work, { mode, slice: { fuel: 100_000_000n } });
    const result = await plugin.call("run", none);
    await plugin.close();
    assert.ok(result.ok);
  });

  Deno.test(
    `${mode}: memory.grow in a loop ends with memory_limit under the cap`,
    opts,
    async () => {
      const plugin = await loadPlugin(fixture("grow"), { mode, limits: { memoryPages: 256 } });
      try {
        const result = await plugin.call("run", none);
        assert.equal(result.ok ? "ok" : result.error.class, "memory_limit");
        assert.ok(result.usage.memoryPages <= 256);
        // Reaching the cap moves a main-thread plugin to workers (slice.ts, `pages`).
        assert.equal(plugin.mode, "worker");
        const again = await plugin.call("run", none);
        assert.equal(again.ok ? "ok" : again.error.class, "memory_limit");
      } finally {
        await plugin.close();
      }
    },
  );

  Deno.test(`${mode}: Extism alloc in a loop ends with memory_limit`, opts, async () => {
    // A small fuel budget: on Deno a terminated worker keeps running, so in worker
    // mode the plugin goes on allocating until its fuel ends (see docs/sandbox.md).
    const before = threadIds();
    const plugin = await loadPlugin(fixture("alloc-loop"), {
      mode,
      limits: { memoryPages: 256, fuel: 5_000_000n },
      // Main mode here means the main thread: no clock-cut slice that would move the call.
      slice: { ms: 600_000 },
      instrumentThreads: false, // as above: no instrumenter thread to mistake for the plugin's
    });
    try {
      const result = await plugin.call("run", none);
      assert.equal(result.ok ? "ok" : result.error.class, "memory_limit");
      if (mode === "main") assert.deepEqual(await spinningThreads(before), []);
    } finally {
      await plugin.close();
    }
  });

  Deno.test(
    conformanceTitle(`${mode}: a conformance plugin gives its documented output`),
    { ...opts, ignore: !hasConformance },
    async () => {
      const plugin = await loadPlugin(conformance("code.wasm"), { mode });
      try {
        const result = await plugin.call("count_vowels", utf8("hello world"));
        assert.ok(result.ok);
        assert.deepEqual(JSON.parse(text(result.output)), {
          count: 3,
          total: 3,
          vowels: "aeiouAEIOU",
        });
      } finally {
        await plugin.close();
      }
    },
  );
}

const answer = utf8('{"ok":true}');

for (const mode of ["main", "worker"] as const) {
  Deno.test(`${mode}: host-call fuel is the figure Node gives, on every run`, opts, async () => {
    const plugin = await loadPlugin(fixture("host-call-loop"), {
      mode,
      hostFunctions: { probe: () => answer },
    });
    try {
      for (const _ of [1, 2]) {
        const result = await plugin.call("times", new Uint8Array(10));
        assert.ok(result.ok);
        assert.equal(result.usage.fuel, HOST_CALL_TIMES_FUEL);
      }
    } finally {
      await plugin.close();
    }
  });
}

Deno.test(
  "main: a host-call loop is cut at its slice, re-run in a worker, and timers run during it",
  opts,
  async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const seen: number[] = [];
    let atReset = -1;
    const plugin = await loadPlugin(fixture("host-call-loop"), {
      limits: { fuel: 5_000_000n, timeoutMs: 120_000 },
      slice: { fuel: 2_000_000n, ms: 600_000 },
      hostFunctions: { probe: () => (seen.push(ticks), answer) },
      rerun: { reset: () => void (atReset = seen.length), final: new Set() },
    });
    try {
      const result = await plugin.call("run", none);
      assert.equal(result.ok ? "ok" : result.error.class, "fuel_exhausted");
      assert.equal(result.usage.fuel, 5_000_000);
      assert.ok(atReset > 0 && atReset <= Number(2_000_000n / HOST_FUNCTION_FUEL), `${atReset}`);
      assert.ok(seen.at(-1)! > seen[atReset]!, "the timer never ran during the re-run");
      assert.equal(plugin.mode, "worker");
    } finally {
      clearInterval(timer);
      await plugin.close();
    }
  },
);

Deno.test(
  "a plugin that logs Extism's memory-limit words does not end its call",
  opts,
  async () => {
    for (const mode of ["main", "worker"] as const) {
      const plugin = await loadPlugin(fixture("forged-memory-log"), { mode });
      try {
        const result = await plugin.call("run", none);
        assert.equal(result.ok ? text(result.output) : result.error.class, "ok");
      } finally {
        await plugin.close();
      }
    }
  },
);

for (const mode of ["main", "worker"] as const) {
  Deno.test(
    `${mode}: bulk memory operations are charged by length (same fuel as on Node)`,
    opts,
    async () => {
      const plugin = await loadPlugin(fixture("bulk-copy"), {
        mode,
        // Fuel must end it: a timeout that a loaded machine could reach first would flake.
        limits: { fuel: 5_000_000n, timeoutMs: 30_000 },
      });
      try {
        const fill = await plugin.call("fill", none);
        assert.deepEqual([fill.ok, fill.usage.fuel], [true, BULK_FILL_FUEL]);
        const run = await plugin.call("run", none);
        assert.equal(run.ok ? "ok" : run.error.class, "fuel_exhausted");
        assert.equal(run.usage.fuel, 5_000_000);
      } finally {
        await plugin.close();
      }
    },
  );
}

Deno.test(
  "plugin worker threads and V8's platform threads are lowered, libSQL's runtime threads are not",
  { ...opts, ignore: !threadIds().size },
  async () => {
    const { mkdtempSync, readFileSync, readdirSync, rmSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const { default: AsyncDatabase } = await import("libsql/promise");
    const { PLUGIN_THREAD_NICE } = await import("../../host/adapter/thread-priority.ts");
    const niceOf = (tid: string) => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
    };
    const dir = mkdtempSync(join(tmpdir(), "plughost-nice-"));
    const before = threadIds();
    const load = () =>
      loadPlugin(fixture("host-call-loop"), {
        mode: "worker",
        concurrency: 1,
        hostFunctions: { probe: () => utf8('{"ok":true}') },
      });
    const db = new AsyncDatabase(join(dir, "nice.db"), {});
    const [first] = await Promise.all([load(), db.exec("CREATE TABLE t (x)")]);
    const second = await load();
    try {
      const added = readdirSync("/proc/self/task").filter((t) => !before.has(t));
      const pool = added.filter((t) =>
        readFileSync(`/proc/self/task/${t}/comm`, "utf8").startsWith("tokio-runtime")
      );
      const mainNice = niceOf(String(Deno.pid));
      for (const tid of pool) assert.equal(niceOf(tid), mainNice);
      assert.ok(
        added.some((t) => niceOf(t) === PLUGIN_THREAD_NICE),
        "no plugin thread was lowered",
      );
      // V8's platform threads (they run the worker isolates' collections) are lowered too.
      const platform = readdirSync("/proc/self/task").filter((t) =>
        readFileSync(`/proc/self/task/${t}/comm`, "utf8").startsWith("V8 DefaultWorke")
      );
      assert.ok(platform.length > 0, "Deno names its V8 platform threads 'V8 DefaultWorker'");
      for (const tid of platform) assert.equal(niceOf(tid), PLUGIN_THREAD_NICE);
    } finally {
      db.close();
      await Promise.all([first.close(), second.close()]);
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

Deno.test(
  "worker host calls wait for the gate before Extism copies their blocks",
  opts,
  async () => {
    const inTurn: boolean[] = [];
    const plugin = await loadPlugin(fixture("block-flood"), {
      mode: "worker",
      concurrency: 1,
      limits: { memoryPages: 256 },
      hostFunctions: {
        probe: () => {
          inTurn.push(hostCallGate.turn !== null && hostCallGate.turn.entered !== null);
          return utf8('{"ok":true}');
        },
      },
    });
    try {
      const result = await plugin.call("times", new Uint8Array(2));
      assert.ok(result.ok);
      assert.deepEqual(inTurn, [true, true, true, true]);
    } finally {
      await plugin.close();
    }
  },
);

Deno.test("host-side work fuel does not price is cut at the hold backstop", opts, async () => {
  for (const mode of ["main", "worker"] as const) {
    const error = await loadPlugin(fixture("start-alloc"), { mode }).catch((e) => e);
    assert.equal(error.code, "load_error");
    assert.match(error.message, /start code held the host's thread/);
  }
  const answer = utf8('{"ok":true}');
  const plugin = await loadPlugin(fixture("final-alloc"), {
    limits: { fuel: 100_000_000n },
    hostFunctions: { pub: () => answer },
    rerun: { reset: () => {}, final: new Set(["pub"]) },
  });
  try {
    const result = await plugin.call("run", none);
    assert.equal(result.ok ? "ok" : result.error.class, "timeout");
    assert.equal(plugin.mode, "worker");
  } finally {
    await plugin.close();
  }
});
