/**
 * Loads the plugin files of a folder (`host serve --plugins DIR`,
 * `openHost({ pluginDirs })`) the way installed plugins load: by dependency
 * level, `LOAD_CONCURRENCY` at a time, so a cold start instruments on every
 * instrumenter thread instead of one file after another (the 10 example
 * plugins on a new data directory: docs/performance.md). The files of one
 * plugin id still load one after another in file order, so the last one
 * replaces the others, as when the whole folder loaded in file order.
 * @module
 */
import { readFile } from "node:fs/promises";
import type { Manifest } from "../manifest/schema.ts";
import { embeddedManifest, loadOrder } from "./dependencies.ts";
import { LOAD_CONCURRENCY } from "./install.ts";
import { dependencyLevels, eachLimited, READ_CONCURRENCY } from "./load-batch.ts";
import type { LoadOptions, PluginRuntime } from "./runtime.ts";
import type { PluginInfo } from "./types.ts";

/** What became of one file: the plugin it loaded, or why it did not. */
export type FolderOutcome = { file: string; info: PluginInfo } | { file: string; error: Error };

/** Loads `files` (sorted paths) with `options`; one outcome per file, in file order. */
export async function loadFolder(
  runtime: PluginRuntime,
  files: readonly string[],
  options: LoadOptions,
): Promise<FolderOutcome[]> {
  if (files.length > 0) runtime.expectLoads();
  const bytes: (Uint8Array | Error)[] = new Array(files.length);
  // A bounded number of reads at once, as for the installed plugins (EMFILE, load-batch.ts).
  await eachLimited([...files.keys()], READ_CONCURRENCY, async (i) => {
    bytes[i] = await readFile(files[i]!).then((b) => new Uint8Array(b), asError);
  });
  // Grouped by the id the (not yet verified) manifest names, only to order the loads: a file
  // that verifies names the same id (checkPlugin reads the same section). A file with no
  // readable manifest is a group of its own, and fails in its load as before. A group waits
  // for the dependencies of every file in it, since each of them loads in turn.
  const groups = new Map<string, number[]>();
  const manifests = new Map<string, Manifest | undefined>();
  files.forEach((file, i) => {
    const wasm = bytes[i]!;
    const manifest = wasm instanceof Error ? undefined : embeddedManifest(wasm);
    const key = manifest?.id ?? `\0${file}`; // no plugin id starts with NUL
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(i);
    const before = manifests.get(key);
    manifests.set(
      key,
      before === undefined || manifest === undefined ? manifest ?? before : {
        ...manifest,
        dependencies: { ...before.dependencies, ...manifest.dependencies },
      },
    );
  });
  const outcomes: FolderOutcome[] = new Array(files.length);
  const loadGroup = async (key: string): Promise<void> => {
    for (const i of groups.get(key)!) {
      const file = files[i]!;
      const wasm = bytes[i]!;
      try {
        if (wasm instanceof Error) throw wasm;
        outcomes[i] = { file, info: await runtime.load(wasm, file, options) };
      } catch (error) {
        outcomes[i] = { file, error: asError(error) };
      }
    }
  };
  for (const level of dependencyLevels(loadOrder(manifests), manifests)) {
    await eachLimited(level, LOAD_CONCURRENCY, loadGroup);
  }
  return outcomes;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
