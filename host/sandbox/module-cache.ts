/**
 * The compiled-module cache on disk: the instrumented bytes of a module, keyed
 * by the SHA-256 of the input module, the instrumenter version, the memory cap
 * and the start fuel. Instrumenting (and loading binaryen to do it) is most of
 * a plugin's load time; a hit skips both. Entries are written atomically
 * (temp file + rename) and checked on read (magic, SHA-256 of the content,
 * key): a damaged entry is ignored and written again. The
 * cache is an optimisation only: a failure to read or write it never fails a load.
 * @module
 */
import { readdirSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { sha256, sha256Hex } from "../artifact/mod.ts";
import { INSTRUMENTER_VERSION } from "./instrument/version.ts";

/** What an entry holds: enough to skip instrumenting. */
export interface CachedModule {
  /** The instrumented module. */
  bytes: Uint8Array;
  /** Its worker-mode variant (instrument.ts), or null when not metered. */
  workerBytes: Uint8Array | null;
  fuelGlobal: string | null;
  memoryMaxPages: number;
}

/** What decides the instrumented bytes. */
export interface ModuleCacheKey {
  /** SHA-256 of the input module, lowercase hex. */
  digest: string;
  memoryPages: number;
  startFuel: bigint;
}

const MAGIC = new TextEncoder().encode("PHMC"); // plughost module cache
const HASH_BYTES = 32;
const Header = z.object({
  key: z.string(),
  fuelGlobal: z.string().nullable(),
  memoryMaxPages: z.number().int().positive(),
  /** Length of the module bytes; the worker variant follows them (none when equal to the rest). */
  mainLength: z.number().int().nonnegative(),
});

/** The entry's file name for a key (a hash of every part, so any change misses). */
export async function moduleCacheName(key: ModuleCacheKey): Promise<string> {
  const text = `${INSTRUMENTER_VERSION}\n${key.digest}\n${key.memoryPages}\n${key.startFuel}`;
  return await sha256Hex(text);
}

/** Reads an entry; undefined when missing or not intact (the caller then rewrites it). */
export async function readCachedModule(
  dir: string,
  key: ModuleCacheKey,
): Promise<CachedModule | undefined> {
  const name = await moduleCacheName(key);
  let file: Uint8Array;
  try {
    file = await readFile(entryPath(dir, name));
  } catch {
    return undefined;
  }
  return await decode(file, name);
}

/** Writes an entry atomically; errors (read-only disk, full disk) are swallowed. */
export async function writeCachedModule(
  dir: string,
  key: ModuleCacheKey,
  module: CachedModule,
): Promise<void> {
  const name = await moduleCacheName(key);
  const path = entryPath(dir, name);
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await mkdir(join(dir, "modules"), { recursive: true });
    await writeFile(temp, await encode(module, name));
    await rename(temp, path);
  } catch {
    await rm(temp, { force: true }).catch(() => {});
  }
}

function entryPath(dir: string, name: string): string {
  return join(dir, "modules", `${name}.wasmc`);
}

/** Whether the cache in `dir` holds no entry at all (a new data directory, say). */
export function moduleCacheEmpty(dir: string): boolean {
  try {
    return !readdirSync(join(dir, "modules")).some((name) => name.endsWith(".wasmc"));
  } catch {
    return true; // no folder yet (or none readable): nothing can come from it
  }
}

// Layout: "PHMC", SHA-256 of the rest, u32 LE header length, header JSON, module bytes, worker variant.
async function encode(module: CachedModule, name: string): Promise<Uint8Array> {
  const header = new TextEncoder().encode(JSON.stringify({
    key: name,
    fuelGlobal: module.fuelGlobal,
    memoryMaxPages: module.memoryMaxPages,
    mainLength: module.bytes.length,
  }));
  const worker = module.workerBytes ?? new Uint8Array();
  const rest = new Uint8Array(4 + header.length + module.bytes.length + worker.length);
  new DataView(rest.buffer).setUint32(0, header.length, true);
  rest.set(header, 4);
  rest.set(module.bytes, 4 + header.length);
  rest.set(worker, 4 + header.length + module.bytes.length);
  const out = new Uint8Array(MAGIC.length + HASH_BYTES + rest.length);
  out.set(MAGIC, 0);
  out.set(await sha256(rest), MAGIC.length);
  out.set(rest, MAGIC.length + HASH_BYTES);
  return out;
}

async function decode(file: Uint8Array, name: string): Promise<CachedModule | undefined> {
  const start = MAGIC.length + HASH_BYTES;
  if (file.length < start + 4 || MAGIC.some((b, i) => file[i] !== b)) return undefined;
  const rest = file.subarray(start);
  const expected = file.subarray(MAGIC.length, start);
  const actual = await sha256(rest);
  if (actual.some((b, i) => expected[i] !== b)) return undefined;
  const length = new DataView(rest.buffer, rest.byteOffset, rest.byteLength).getUint32(0, true);
  if (4 + length > rest.length) return undefined;
  let header: z.infer<typeof Header>;
  try {
    header = Header.parse(JSON.parse(new TextDecoder().decode(rest.subarray(4, 4 + length))));
  } catch {
    return undefined;
  }
  if (header.key !== name) return undefined;
  const body = rest.subarray(4 + length);
  if (header.mainLength > body.length) return undefined;
  // Copies, and plain Uint8Arrays.
  const bytes = new Uint8Array(body.subarray(0, header.mainLength));
  const workerBytes = header.mainLength === body.length
    ? null
    : new Uint8Array(body.subarray(header.mainLength));
  // Not validated again: the content hash above says these are the bytes instrument() wrote,
  // and it validated them; a module that still fails to compile is rebuilt (compile.ts).
  return {
    bytes,
    workerBytes,
    fuelGlobal: header.fuelGlobal,
    memoryMaxPages: header.memoryMaxPages,
  };
}
