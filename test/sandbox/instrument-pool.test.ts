// The instrumenter's threads (host/sandbox/instrument-pool.ts): the same bytes as on the
// host's thread, the loop free meanwhile, errors as instrument() gives them, a bounded
// number of threads that end when idle, and a fallback where no thread can start.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { isDeno } from "../../host/adapter/worker-args.ts";
import { bundleForNode, NODE_BUNDLE } from "../helpers/bundle.ts";
import { HostError } from "../../host/errors.ts";
import {
  compilePlugin,
  expectInstrumenting,
  takeWorkerModule,
  workerBytesOf,
} from "../../host/sandbox/compile.ts";
import { writeCachedModule } from "../../host/sandbox/module-cache.ts";
import {
  InstrumentPool,
  instrumentPool,
  InstrumentThreadsUnavailable,
  instrumentWorkerEntry,
} from "../../host/sandbox/instrument-pool.ts";
import { instrument, workerVariant } from "../../host/sandbox/instrument/mod.ts";

const root = join(import.meta.dirname, "..", "..");
const options = { memoryMaxPages: 16, startFuel: 5_000_000n };
let dir: string;
let entry: URL;

beforeAll(async () => {
  // Inside the repository, so the bundle's `binaryen` import resolves from node_modules.
  mkdirSync(join(root, "build"), { recursive: true });
  dir = mkdtempSync(join(root, "build", ".instrument-pool-"));
  if (isDeno) {
    entry = new URL("../../host/sandbox/instrument/worker-main.ts", import.meta.url);
    return;
  }
  // Node threads cannot load TypeScript: the thread's entry bundled, as the builds do.
  await bundleForNode(
    join(root, "host", "sandbox", "instrument", "worker-main.ts"),
    join(dir, "instrument-worker.mjs"),
  );
  entry = pathToFileURL(join(dir, "instrument-worker.mjs"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hello = () => new Uint8Array(readFileSync(join(root, "build", "plugins", "hello.wasm")));

describe("the instrumenter's threads", () => {
  it("give the bytes the host's own thread gives", async () => {
    const pool = new InstrumentPool(entry, { size: 1 });
    try {
      const wasm = hello();
      const { module, ...there } = await pool.run(wasm, options);
      const here = instrument(wasm, options);
      expect(there.bytes).toEqual(here.bytes);
      expect({ ...there, bytes: null }).toEqual({ ...here, bytes: null });
      // Compiled there too, from those bytes: the host's thread need not compile them.
      expect(module).toBeInstanceOf(WebAssembly.Module);
      const compiledHere = new WebAssembly.Module(here.bytes as BufferSource);
      for (const describe of [WebAssembly.Module.exports, WebAssembly.Module.imports] as const) {
        expect(describe(module!)).toEqual(describe(compiledHere));
      }
      // The worker-mode form too, made there from the metered bytes, and compiled there.
      const variant = await pool.workerVariant(here.bytes);
      expect(variant.bytes).toEqual(workerVariant(here.bytes));
      expect(WebAssembly.Module.exports(variant.module!)).toEqual(
        WebAssembly.Module.exports(new WebAssembly.Module(variant.bytes as BufferSource)),
      );
    } finally {
      await pool.close();
    }
  });

  it("send the bytes alone where a compiled module cannot be posted", async () => {
    // A thread whose runtime refuses to post a WebAssembly.Module (none known does): the
    // load still gets its bytes, and its caller compiles them.
    const refusing = join(dir, "refusing.mjs");
    writeFileSync(
      refusing,
      'import { parentPort } from "node:worker_threads";\n' +
        "const post = parentPort.postMessage.bind(parentPort);\n" +
        "parentPort.postMessage = (message, transfer) => {\n" +
        "  if (message?.result?.module) {\n" +
        '    throw new DOMException("a module cannot be posted here", "DataCloneError");\n' +
        "  }\n" +
        "  return post(message, transfer);\n" +
        "};\n" +
        `await import(${JSON.stringify(entry.href)});\n`,
    );
    const pool = new InstrumentPool(pathToFileURL(refusing), { size: 1 });
    try {
      const wasm = hello();
      const { module, ...there } = await pool.run(wasm, options);
      expect(module).toBeUndefined();
      expect(there.bytes).toEqual(instrument(wasm, options).bytes);
      expect(pool.threads).toBe(1); // the thread lives on
    } finally {
      await pool.close();
    }
  });

  it("start one thread before any job when asked, which then takes the first job", async () => {
    const pool = new InstrumentPool(entry, { size: 2, idleMs: 50 });
    try {
      pool.prestart();
      pool.prestart();
      expect(pool.threads).toBe(1); // one, however often asked
      expect((await pool.run(hello(), options)).fuelGlobal).toBe("plughost_fuel");
      expect(pool.threads).toBe(1); // the job went to it: no second thread started
      await vi.waitFor(() => expect(pool.threads).toBe(0), { timeout: 10_000 }); // idle, it ends
    } finally {
      await pool.close();
    }
    pool.prestart(); // closed: starts none
    expect(pool.threads).toBe(0);
  });

  it("leave the event loop turning while a module is instrumented", async () => {
    const pool = new InstrumentPool(entry, { size: 1 });
    try {
      await pool.run(hello(), options); // the thread started and loaded binaryen
      let turns = 0;
      let spinning = true;
      const spin = () => {
        turns++;
        if (spinning) setImmediate(spin);
      };
      spin();
      await pool.run(hello(), options);
      spinning = false;
      // On the host's thread instrument() is synchronous: the loop would not turn at all.
      expect(turns).toBeGreaterThan(2);
    } finally {
      await pool.close();
    }
  });

  it("reject a module as instrument() does, with the same error", async () => {
    const pool = new InstrumentPool(entry, { size: 1 });
    const bad = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff]);
    // (module (memory 17)): above a 16-page cap, refused with details of the excess.
    const big = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 3, 1, 0, 17]);
    const here = (wasm: Uint8Array): HostError => {
      try {
        instrument(wasm, options);
      } catch (error) {
        return error as HostError;
      }
      throw new Error("instrument() accepted the module");
    };
    try {
      for (const wasm of [bad, big]) {
        const there = await pool.run(wasm, options).catch((error: unknown) => error);
        expect(there).toBeInstanceOf(HostError);
        const expected = here(wasm);
        expect((there as HostError).code).toBe(expected.code);
        expect((there as HostError).message).toBe(expected.message);
        expect((there as HostError).details).toEqual(expected.details);
      }
      expect(here(big).details).toEqual({ initialPages: 17, capPages: 16 });
      // And the thread goes on with the next module.
      expect((await pool.run(hello(), options)).fuelGlobal).toBe("plughost_fuel");
    } finally {
      await pool.close();
    }
  });

  it("start no more threads than their size, and end them when idle", async () => {
    const pool = new InstrumentPool(entry, { size: 2, idleMs: 50 });
    try {
      const wasm = hello();
      const jobs = Array.from({ length: 6 }, () => pool.run(wasm, options));
      expect(pool.threads).toBe(2);
      const results = await Promise.all(jobs);
      const first = results[0]!.bytes;
      for (const result of results) expect(result.bytes).toEqual(first);
      await vi.waitFor(() => expect(pool.threads).toBe(0), { timeout: 10_000 });
    } finally {
      await pool.close();
    }
  });

  it("fail the module a thread was on when the thread dies, and start another", async () => {
    // A thread that says it is ready, then exits on its first job.
    const dying = join(dir, "dying.mjs");
    writeFileSync(
      dying,
      'import { parentPort } from "node:worker_threads";\n' +
        'parentPort.postMessage({ kind: "ready" });\n' +
        'parentPort.on("message", () => process.exit(3));\n',
    );
    const pool = new InstrumentPool(pathToFileURL(dying), { size: 1 });
    try {
      for (let i = 0; i < 2; i++) {
        const error = await pool.run(hello(), options).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(HostError);
        expect((error as HostError).code).toBe("load_error");
        expect((error as HostError).message).toMatch(/thread stopped while instrumenting/);
      }
      expect(pool.unavailable).toBeNull();
    } finally {
      await pool.close();
    }
  });

  it("fail a module that holds a thread past the time limit, ending that thread", async () => {
    // A thread that says it is ready, then never answers.
    const stuck = join(dir, "stuck.mjs");
    writeFileSync(
      stuck,
      'import { parentPort } from "node:worker_threads";\n' +
        'parentPort.postMessage({ kind: "ready" });\n' +
        'parentPort.on("message", () => { for (;;) {} });\n',
    );
    const pool = new InstrumentPool(pathToFileURL(stuck), { size: 1, jobTimeoutMs: 200 });
    try {
      const first = await pool.run(hello(), options).catch((e: unknown) => e);
      expect(first).toBeInstanceOf(HostError);
      expect((first as HostError).code).toBe("load_error");
      expect((first as HostError).message).toMatch(/took longer than 0.2 s/);
      expect(pool.threads).toBe(0); // the spinning thread was ended
      // The next module gets a thread of its own (which this entry also holds).
      await expect(pool.run(hello(), options)).rejects.toThrow(/took longer than 0.2 s/);
      expect(pool.unavailable).toBeNull();
    } finally {
      await pool.close();
    }
  });

  it("load no zod in the thread (Node: ~25-40 ms of every thread's start)", async () => {
    if (isDeno) return; // the same source; the bundle is what Node's threads load
    const esbuild = await import("esbuild");
    const built = await esbuild.build({
      ...NODE_BUNDLE,
      entryPoints: [join(root, "host", "sandbox", "instrument", "worker-main.ts")],
      write: false,
      metafile: true,
    });
    const imports = Object.values(built.metafile.outputs).flatMap((o) => o.imports)
      .map((i) => i.path);
    expect(imports).toContain("binaryen");
    expect(imports).not.toContain("zod");
  });

  it("run spare-time jobs only on a thread already running, after the others", async () => {
    const pool = new InstrumentPool(entry, { size: 1 });
    try {
      const wasm = hello();
      const metered = instrument(wasm, options).bytes;
      await expect(pool.workerVariant(metered, true)).rejects.toBeInstanceOf(
        InstrumentThreadsUnavailable,
      );
      expect(pool.threads).toBe(0); // it started none
      const order: string[] = [];
      const first = pool.run(wasm, options).then(() => order.push("first"));
      await first; // the thread runs now
      const second = pool.run(wasm, options).then(() => order.push("second")); // keeps it busy
      const spare = pool.workerVariant(metered, true).then((bytes) => {
        order.push("spare");
        return bytes;
      });
      const third = pool.run(wasm, options).then(() => order.push("third"));
      // Spare work is not compiled: most variants made in spare time are never used.
      expect(await spare).toEqual({ bytes: workerVariant(metered) });
      await Promise.all([second, third]);
      // Queued behind the second, yet after the third, queued later.
      expect(order).toEqual(["first", "second", "third", "spare"]);
    } finally {
      await pool.close();
    }
  });

  it("hold spare-time jobs until the pool is quiet, unless someone comes to need one", async () => {
    // A quiet period longer than the test: the spare job runs only because `need` asks for it.
    const pool = new InstrumentPool(entry, { size: 1, spareQuietMs: 600_000 });
    try {
      const wasm = hello();
      const metered = instrument(wasm, options).bytes;
      await pool.run(wasm, options); // a thread runs now
      const order: string[] = [];
      const spare = pool.workerVariant(metered, true).then((bytes) => {
        order.push("spare");
        return bytes;
      });
      await pool.run(wasm, options).then(() => order.push("needed"));
      await pool.run(wasm, options).then(() => order.push("needed"));
      // The thread was free between and after those: the spare job still waits.
      expect(order).toEqual(["needed", "needed"]);
      pool.need(metered);
      // Needed before it ran: compiled there too, as one asked for at once.
      const { bytes, module } = await spare;
      expect(bytes).toEqual(workerVariant(metered));
      expect(module).toBeInstanceOf(WebAssembly.Module);
      expect(order).toEqual(["needed", "needed", "spare"]);
    } finally {
      await pool.close();
    }
  });

  it(
    "start none again once one could not, even after others were ready",
    async () => {
      // A thread that starts while the file `broken` is absent, and fails to load once it exists.
      const flaky = join(dir, "flaky.mjs");
      const broken = join(dir, "broken");
      writeFileSync(
        flaky,
        'import { existsSync } from "node:fs";\n' +
          `if (existsSync(${JSON.stringify(broken)})) throw new Error("cannot load");\n` +
          `await import(${JSON.stringify(entry.href)});\n`,
      );
      const warned = vi.spyOn(process, "emitWarning").mockImplementation(() => {});
      const pool = new InstrumentPool(pathToFileURL(flaky), { size: 1, idleMs: 20 });
      try {
        expect((await pool.run(hello(), options)).fuelGlobal).toBe("plughost_fuel");
        await vi.waitFor(() => expect(pool.threads).toBe(0), { timeout: 10_000 });
        writeFileSync(broken, "");
        const error = await pool.run(hello(), options).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(InstrumentThreadsUnavailable);
        expect(pool.unavailable).toMatch(/could not start \(cannot load\)/);
        expect(pool.threads).toBe(0); // and no thread is being started again
        await expect(pool.run(hello(), options)).rejects.toBeInstanceOf(
          InstrumentThreadsUnavailable,
        );
        expect(warned).toHaveBeenCalledTimes(1);
      } finally {
        warned.mockRestore();
        await pool.close();
      }
    },
  );

  it("treat a thread the runtime refuses at once like one that cannot start", async () => {
    const warned = vi.spyOn(process, "emitWarning").mockImplementation(() => {});
    // Not a file: URL, which new Worker() refuses synchronously.
    const pool = new InstrumentPool(new URL("http://127.0.0.1:9/never.mjs"), { size: 1 });
    try {
      const error = await pool.run(hello(), options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InstrumentThreadsUnavailable);
      expect(pool.threads).toBe(0);
    } finally {
      warned.mockRestore();
      await pool.close();
    }
  });

  it("say so when no thread can start, so the caller instruments on its own thread", async () => {
    const warned = vi.spyOn(process, "emitWarning").mockImplementation(() => {});
    const pool = new InstrumentPool(pathToFileURL(join(dir, "missing.mjs")), { size: 1 });
    try {
      const error = await pool.run(hello(), options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InstrumentThreadsUnavailable);
      expect(pool.unavailable).toMatch(/could not start/);
      expect(warned).toHaveBeenCalledTimes(1);
      await expect(pool.run(hello(), options)).rejects.toBeInstanceOf(InstrumentThreadsUnavailable);
    } finally {
      warned.mockRestore();
      await pool.close();
    }
  });

  it("are found beside a bundle, or as the TypeScript source on Deno only", () => {
    const found = instrumentWorkerEntry();
    if (isDeno) expect(found?.pathname).toMatch(/instrument\/worker-main\.ts$/);
    else expect(found).toBeNull(); // these sources under Node: on the calling thread
  });

  it("are not used by a load that asks for the calling thread (host call, host run)", async () => {
    // (module (func (export "<name>"))): a new digest per name, so nothing comes from a cache.
    const tiny = (name: string) =>
      new Uint8Array([
        ...[0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0],
        ...[7, name.length + 4, 1, name.length, ...new TextEncoder().encode(name), 0, 0],
        ...[0x0a, 4, 1, 2, 0, 0x0b],
      ]);
    const key = { memoryPages: 1, startFuel: 1000n };
    const none = { wasi: false, hostFunctions: new Set<string>() };
    const here = await compilePlugin(tiny("here"), { ...key, instrumentThreads: false }, none);
    expect(here.exports).toEqual(["here"]);
    expect(instrumentPool()?.threads ?? 0).toBe(0);
    const there = await compilePlugin(tiny("there"), key, none);
    expect(there.exports).toEqual(["there"]);
    // Deno runs the thread's TypeScript source; Node, running these sources, has no thread.
    expect(instrumentPool()?.threads ?? 0).toBe(isDeno ? 1 : 0);
  });

  it("compile what they instrument, so the host's thread compiles nothing", async () => {
    const tiny = new Uint8Array([
      ...[0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0],
      ...[7, 8, 1, 4, ...new TextEncoder().encode("once"), 0, 0],
      ...[0x0a, 4, 1, 2, 0, 0x0b],
    ]);
    const key = { memoryPages: 1, startFuel: 1001n };
    const none = { wasi: false, hostFunctions: new Set<string>() };
    const compile = vi.spyOn(WebAssembly, "compile");
    try {
      const compiled = await compilePlugin(tiny, key, none);
      expect(compiled.exports).toEqual(["once"]);
      // Deno runs the thread from these sources; Node, running these sources, has none, and
      // compiles on its own thread as before.
      expect(compile).toHaveBeenCalledTimes(isDeno ? 0 : 1);
      expect(new WebAssembly.Instance(compiled.module, {}).exports).toHaveProperty("once");
      // The worker variant, made when a load needs it, comes compiled from there too, once.
      const variant = await workerBytesOf(compiled);
      const module = takeWorkerModule(compiled);
      if (isDeno) {
        expect(WebAssembly.Module.exports(module!)).toEqual(
          WebAssembly.Module.exports(new WebAssembly.Module(variant as BufferSource)),
        );
      } else expect(module).toBeUndefined();
      expect(takeWorkerModule(compiled)).toBeUndefined();
    } finally {
      compile.mockRestore();
    }
  });

  // Node runs these sources with no thread to start (see above); Deno runs the thread's source.
  it.skipIf(!isDeno)(
    "start one at a host's start only where nothing can come from its module cache (Deno)",
    async () => {
      const pool = instrumentPool()!;
      await vi.waitFor(() => expect(pool.threads).toBe(0), { timeout: 10_000 }); // earlier tests'
      const cache = join(dir, "expect-cache");
      const key = { digest: "0".repeat(64), memoryPages: 1, startFuel: 1n };
      await writeCachedModule(cache, key, { ...instrument(hello(), options), workerBytes: null });
      expectInstrumenting(cache, true); // a restart: most loads hit the cache
      expectInstrumenting(undefined, false); // instrumentThreads: false
      expect(pool.threads).toBe(0);
      expectInstrumenting(join(dir, "new-data-dir-cache"), true); // nothing cached yet
      expect(pool.threads).toBe(1);
      await vi.waitFor(() => expect(pool.threads).toBe(0), { timeout: 10_000 });
      expectInstrumenting(undefined, true); // no cache at all: every load instruments
      expect(pool.threads).toBe(1);
    },
  );
});
