import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cacheEpoch, compilePlugin, releaseCacheDir, sha256Hex, workerBytesOf } from "./compile.ts";
import { instrument, workerVariant } from "./instrument/mod.ts";
import { wat } from "./instrument/_testing.ts";
import { loadPlugin } from "./load.ts";
import {
  moduleCacheEmpty,
  type ModuleCacheKey,
  readCachedModule,
  writeCachedModule,
} from "./module-cache.ts";

const provided = { wasi: false, hostFunctions: new Set<string>() };
const source = wat(`(module
  (memory (export "memory") 1)
  (func (export "answer") (result i32)
    (local $i i32)
    (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 10))))
    (local.get $i)))`);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "plughost-modcache-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

// Each test uses its own memory cap, so compile.ts's in-memory cache never answers for it.
async function keyFor(memoryPages: number): Promise<ModuleCacheKey> {
  return { digest: await sha256Hex(source), memoryPages, startFuel: 1_000_000n };
}

function entries(): string[] {
  return readdirSync(join(dir, "modules"));
}

describe("compiled-module cache on disk", () => {
  it("says whether it holds no entry at all (a host's start then starts a thread early)", async () => {
    expect(moduleCacheEmpty(join(dir, "never-made"))).toBe(true);
    expect(moduleCacheEmpty(dir)).toBe(true);
    const key = await keyFor(5);
    await writeCachedModule(dir, key, {
      ...instrument(source, { memoryMaxPages: 5 }),
      workerBytes: null,
    });
    expect(moduleCacheEmpty(dir)).toBe(false);
    for (const name of readdirSync(join(dir, "modules"))) rmSync(join(dir, "modules", name));
    writeFileSync(join(dir, "modules", "left-over.tmp"), ""); // not an entry
    expect(moduleCacheEmpty(dir)).toBe(true);
  });

  it("stores the instrumented bytes of a load, exactly what instrument() makes", async () => {
    // On this thread: with instrumenter threads the variant is made in their spare time after.
    const key = { memoryPages: 3, startFuel: 1_000_000n, cacheDir: dir, instrumentThreads: false };
    await compilePlugin(source, key, provided);
    expect(entries()).toHaveLength(1);
    expect(entries()[0]).toMatch(/^[0-9a-f]{64}\.wasmc$/);
    const cached = await readCachedModule(dir, await keyFor(3));
    const fresh = instrument(source, { memoryMaxPages: 3, startFuel: 1_000_000n });
    expect(cached?.bytes).toEqual(fresh.bytes);
    // The worker variant is made when a plugin first needs a worker, not at every load.
    expect(cached?.workerBytes).toBeNull();
    expect(cached?.fuelGlobal).toBe("plughost_fuel");
    expect(cached?.memoryMaxPages).toBe(fresh.memoryMaxPages);
  });

  it("adds the worker variant to the entry once a plugin needs it", async () => {
    const compiled = await compilePlugin(
      source,
      { memoryPages: 7, startFuel: 1_000_000n, cacheDir: dir, instrumentThreads: false },
      provided,
    );
    expect(compiled.workerBytes).toBeNull();
    const variant = await workerBytesOf(compiled);
    expect(variant).toEqual(workerVariant(compiled.bytes));
    expect(await workerBytesOf(compiled)).toBe(variant); // made once
    const cached = await readCachedModule(dir, await keyFor(7));
    expect(cached?.bytes).toEqual(compiled.bytes);
    expect(cached?.workerBytes).toEqual(variant); // a later process makes nothing
  });

  it("writes no worker variant into a folder released since the load (a closed host's)", async () => {
    const key = { memoryPages: 10, startFuel: 1_000_000n, cacheDir: dir, instrumentThreads: false };
    const compiled = await compilePlugin(source, key, provided);
    await releaseCacheDir(dir);
    rmSync(dir, { recursive: true, force: true });
    expect(await workerBytesOf(compiled)).toEqual(workerVariant(compiled.bytes)); // in memory
    expect(existsSync(dir)).toBe(false);
    // A load after the release writes there again, its variant too.
    const later = await compilePlugin(source, { ...key, memoryPages: 11 }, provided);
    await workerBytesOf(later);
    expect((await readCachedModule(dir, await keyFor(11)))?.workerBytes).toEqual(later.workerBytes);
  });

  it("writes nothing for a load begun before its folder was released", async () => {
    const since = cacheEpoch(); // the load begins (a host's runtime.load)...
    await releaseCacheDir(dir); // ...its host closes meanwhile...
    rmSync(dir, { recursive: true, force: true }); // ...and its folder is removed
    const key = {
      memoryPages: 12,
      startFuel: 1_000_000n,
      cacheDir: dir,
      cacheSince: since,
      instrumentThreads: false,
    };
    const compiled = await compilePlugin(source, key, provided);
    await workerBytesOf(compiled);
    expect(existsSync(dir)).toBe(false);
  });

  it("puts a shared module's worker variant in the folder of its latest load", async () => {
    const other = mkdtempSync(join(tmpdir(), "plughost-modcache-other-"));
    try {
      const key = { memoryPages: 13, startFuel: 1_000_000n, instrumentThreads: false };
      const first = await compilePlugin(source, { ...key, cacheDir: other }, provided);
      await releaseCacheDir(other); // the first host closed
      const again = await compilePlugin(source, { ...key, cacheDir: dir }, provided);
      expect(again).toBe(first); // from memory: nothing instrumented, nothing written yet
      await workerBytesOf(again);
      expect((await readCachedModule(dir, await keyFor(13)))?.workerBytes).toEqual(
        again.workerBytes,
      );
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it("keeps a worker variant that could not be made: one attempt, not one per worker start", async () => {
    const compiled = await compilePlugin(
      source,
      { memoryPages: 9, startFuel: 1_000_000n, instrumentThreads: false },
      provided,
    );
    const bytes = compiled.bytes;
    compiled.bytes = new TextEncoder().encode("not a module"); // what the variant is made from
    await expect(workerBytesOf(compiled)).rejects.toMatchObject({ code: "load_error" });
    compiled.bytes = bytes;
    await expect(workerBytesOf(compiled)).rejects.toMatchObject({ code: "load_error" });
  });

  it("answers a load from the entry instead of instrumenting", async () => {
    // An entry holding the module as it came (not metered) proves the load used the cache.
    const key = await keyFor(4);
    await writeCachedModule(dir, key, {
      bytes: source,
      workerBytes: null,
      fuelGlobal: null,
      memoryMaxPages: 4,
    });
    const compiled = await compilePlugin(
      source,
      { memoryPages: 4, startFuel: 1_000_000n, cacheDir: dir },
      provided,
    );
    expect(compiled.fuelGlobal).toBeNull();
    expect(compiled.bytes).toEqual(source);
  });

  it("ignores a damaged entry and writes it again", async () => {
    const key = await keyFor(5);
    await writeCachedModule(dir, key, {
      bytes: instrument(source, { memoryMaxPages: 5, startFuel: 1_000_000n }).bytes,
      workerBytes: null,
      fuelGlobal: "plughost_fuel",
      memoryMaxPages: 1,
    });
    const file = join(dir, "modules", entries()[0]!);
    const bytes = readFileSync(file);
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0xff; // one flipped byte in the module
    writeFileSync(file, bytes);
    expect(await readCachedModule(dir, key)).toBeUndefined();
    writeFileSync(join(dir, "modules", "junk.tmp"), "partial");
    const compiled = await compilePlugin(
      source,
      { memoryPages: 5, startFuel: 1_000_000n, cacheDir: dir },
      provided,
    );
    expect(compiled.fuelGlobal).toBe("plughost_fuel");
    const again = await readCachedModule(dir, key);
    expect(again?.bytes).toEqual(compiled.bytes);
  });

  it("rebuilds from an intact entry whose module does not compile", async () => {
    // The content hash holds (the entry was written whole), but the bytes are no module:
    // the load instruments again instead of failing, and the entry is replaced.
    const key = await keyFor(6);
    await writeCachedModule(dir, key, {
      bytes: new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff]),
      workerBytes: null,
      fuelGlobal: null,
      memoryMaxPages: 6,
    });
    const compiled = await compilePlugin(
      source,
      { memoryPages: 6, startFuel: 1_000_000n, cacheDir: dir },
      provided,
    );
    expect(compiled.fuelGlobal).toBe("plughost_fuel");
    expect((await readCachedModule(dir, key))?.bytes).toEqual(compiled.bytes);
  });

  it("misses when any part of the key differs", async () => {
    const key = await keyFor(6);
    await writeCachedModule(dir, key, {
      bytes: source,
      workerBytes: null,
      fuelGlobal: null,
      memoryMaxPages: 6,
    });
    expect(await readCachedModule(dir, key)).toBeDefined();
    expect(await readCachedModule(dir, { ...key, memoryPages: 7 })).toBeUndefined();
    expect(await readCachedModule(dir, { ...key, startFuel: 2n })).toBeUndefined();
    expect(await readCachedModule(dir, { ...key, digest: "0".repeat(64) })).toBeUndefined();
  });

  it("meters a plugin loaded from the cache exactly like a fresh one", async () => {
    const run = async () => {
      const plugin = await loadPlugin(source, {
        limits: { fuel: 1_000_000n, memoryPages: 8 },
        cacheDir: dir,
      });
      try {
        const result = await plugin.call("answer", new Uint8Array());
        return result.usage.fuel;
      } finally {
        await plugin.close();
      }
    };
    const fresh = await run();
    expect(entries()).toHaveLength(1);
    expect(await run()).toBe(fresh);
    expect(fresh).toBeGreaterThan(0);
  });

  it("a cache directory that cannot be written does not fail the load", async () => {
    const blocked = join(dir, "file");
    writeFileSync(blocked, "not a directory");
    const compiled = await compilePlugin(
      source,
      { memoryPages: 9, startFuel: 1_000_000n, cacheDir: blocked },
      provided,
    );
    expect(compiled.fuelGlobal).toBe("plughost_fuel");
  });
});
