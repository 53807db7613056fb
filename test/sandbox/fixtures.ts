/**
 * Hostile test plugins: assembled from test/fixtures/*.wat by
 * scripts/build-fixtures.mjs (when stale), read from build/fixtures/.
 * Works under vitest (Node) and `deno test`.
 * @module
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { conformanceDir } from "../helpers/conformance.ts";
import { workerTimeouts } from "../../host/sandbox/worker-instance.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** Extism's own test plugins (read-only, never copied); see test/helpers/conformance.ts. */
export { conformanceDir };
let built = false;

/** Bytes of build/fixtures/<name>.wasm, building the fixtures first if needed. */
export function fixture(name: string): Uint8Array {
  if (!built) {
    execFileSync("node", [join(root, "scripts", "build-fixtures.mjs"), "--if-stale"], {
      stdio: "inherit",
    });
    built = true;
  }
  return new Uint8Array(readFileSync(join(root, "build", "fixtures", `${name}.wasm`)));
}

/** Bytes of a conformance plugin. */
export function conformance(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(conformanceDir, name)));
}

/** UTF-8 helpers. */
export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
export const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** Ids of this process's threads now (empty where /proc is not available). */
export function threadIds(): Set<string> {
  return existsSync("/proc/self/task") ? new Set(readdirSync("/proc/self/task")) : new Set();
}

/**
 * Threads of this process started after `before` (V8's and the runtime's own
 * helper threads, which may compile for seconds, are older), other than the
 * one asking, that were running or waiting to run ("R" in
 * /proc/self/task/<tid>/stat) at every one of `samples` looks, `gapMs` apart.
 * A thread left spinning is in that state at every look however slow or busy
 * the machine is; an idle thread (waiting on a lock, a timer or I/O) never is.
 * Null where /proc is not available.
 */
export async function spinningThreads(
  before: Set<string> = new Set(),
  samples = 12,
  gapMs = 25,
): Promise<string[] | null> {
  if (!existsSync("/proc/self/task")) return null;
  const self = readlinkSync("/proc/thread-self").split("/").pop();
  const running = (): Set<string> => {
    const found = new Set<string>();
    for (const tid of readdirSync("/proc/self/task")) {
      if (tid === self || before.has(tid)) continue;
      try {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
        if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("R")) found.add(tid);
      } catch {
        // The thread ended between the listing and the read.
      }
    }
    return found;
  };
  let always = running();
  for (let i = 1; i < samples && always.size > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, gapMs));
    const now = running();
    always = new Set([...always].filter((tid) => now.has(tid)));
  }
  return [...always].map((tid) => `${tid} ${threadName(tid)}`);
}

function threadName(tid: string): string {
  try {
    return readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim();
  } catch {
    return "(ended)";
  }
}

/**
 * Fuel of host-call-loop's "times" export with a 10-byte input (ten host
 * calls answering `{"ok":true}`): the same on Node and Deno, in both modes.
 * It changes only when the metering or the host-call costs change.
 */
export const HOST_CALL_TIMES_FUEL = 216_303;

/**
 * Fuel of bulk-copy's "fill" (one 16 MiB memory.fill): 6 for its nodes and
 * 262,144 for its length (1 per 64 bytes). The same on Node and Deno.
 */
export const BULK_FILL_FUEL = 262_150;

/**
 * Runs `fn` with the grace a stopped worker call gets (worker-instance.ts) set
 * to `ms`, then puts it back: a long one makes a test of the stop certain.
 */
export async function withStopGrace<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  const grace = workerTimeouts.stopGraceMs;
  workerTimeouts.stopGraceMs = ms;
  try {
    return await fn();
  } finally {
    workerTimeouts.stopGraceMs = grace;
  }
}
