// A plugin folder's files are read a bounded number at a time (host/core/folder-load.ts), as the
// installed plugins are: each read holds a file descriptor, and a folder of thousands of files
// read at once passed a default limit of 1,024 (EMFILE) and failed those loads.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import * as fsPromises from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadFolder } from "../../host/core/folder-load.ts";
import { READ_CONCURRENCY } from "../../host/core/load-batch.ts";
import type { PluginRuntime } from "../../host/core/runtime.ts";
import type { PluginInfo } from "../../host/core/types.ts";

vi.mock("node:fs/promises", async (original) => {
  const actual = await original<typeof import("node:fs/promises")>();
  return { ...actual, readFile: vi.fn(actual.readFile) };
});

describe("a plugin folder's reads", () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), "plughost-folder-reads-"));
  });
  afterAll(() => rm(folder, { recursive: true, force: true }));

  it(`are at most ${READ_CONCURRENCY} at a time, and every file gets its outcome`, async () => {
    const files: string[] = [];
    for (let i = 0; i < 100; i++) {
      const file = join(folder, `p${String(i).padStart(3, "0")}.wasm`);
      await writeFile(file, new Uint8Array([i]));
      files.push(file);
    }
    let open = 0;
    let most = 0;
    const actual = await vi.importActual<typeof import("node:fs/promises")>("node:fs/promises");
    vi.mocked(fsPromises.readFile).mockImplementation(
      (async (path: string) => {
        most = Math.max(most, ++open);
        await new Promise((resolve) => setTimeout(resolve, 2));
        try {
          return await actual.readFile(path);
        } finally {
          open--;
        }
      }) as typeof fsPromises.readFile,
    );
    // A runtime that loads whatever it is given: only the folder's reading is under test.
    const runtime = {
      expectLoads() {},
      load: (wasm: Uint8Array, source: string) =>
        Promise.resolve({ id: source, version: String(wasm[0]) } as unknown as PluginInfo),
    } as unknown as PluginRuntime;
    const outcomes = await loadFolder(runtime, files, {});
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(READ_CONCURRENCY);
    expect(outcomes.map((o) => o.file)).toEqual(files);
    expect(outcomes.every((o) => "info" in o)).toBe(true);
  });
});
