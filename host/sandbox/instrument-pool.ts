/**
 * Instrumentation off the event loop: a few threads (instrument/worker-main.ts)
 * that each load binaryen once and instrument the modules sent to them. On the
 * loop's own thread binaryen held it ~25 ms per small plugin and ~0.5-1.5 s for
 * a 1-2 MB one: an upload stalled every request and schedule meanwhile, and a
 * cold start used one core of several. Threads start when there is work, at
 * most one per core (4 at most), and end after a while idle. They keep the
 * host's priority (plugin threads get a lower one, thread-priority.ts): niced,
 * they starved whenever anything else kept the cores busy (a cold start of
 * 100 plugins took several times longer on a loaded machine), and the OS
 * already shares a core between the loop and them.
 *
 * Where no thread can be started (the TypeScript sources under Node, whose
 * threads cannot load `.ts`; or a start that fails, after which none is tried
 * again), modules are instrumented on the calling thread as before; the
 * pool's `unavailable` says why.
 * @module
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { isDeno, workerArgs } from "../adapter/worker-args.ts";
import { HostError, isErrorCode } from "../errors.ts";
import { messageOf } from "./classify.ts";
import type {
  InstrumentJob,
  InstrumentOutput,
  InstrumentReply,
  InstrumentTask,
  ThreadInstrumented,
  ThreadVariant,
} from "./instrument/thread-protocol.ts";
import type { InstrumentOptions } from "./instrument/types.ts";

/**
 * How long an idle thread is kept: long enough for the loads of one start-up
 * or one batch of uploads to share it (binaryen takes ~0.3 s to load), short
 * enough that a host does not keep a second isolate with binaryen's 10 MB of
 * WebAssembly (and tens of MiB of memory) beside the plugins it serves.
 */
export const INSTRUMENT_IDLE_MS = 2_000;

/**
 * How long the pool goes without a job someone waits for before it starts
 * spare-time work (the worker variants made after each fresh instrumentation,
 * compile.ts). Loads come a few at a time, each with its main-thread stages
 * between its jobs; a spare job started in such a gap held the next load's
 * instrumentation: `host serve` with the 10 example plugins on a fresh data
 * directory was ready after ~1.8 s, ~1.45 s without spare jobs.
 */
export const SPARE_QUIET_MS = 250;

/** How long a thread may take to load binaryen before it counts as unable to start. */
const START_TIMEOUT_MS = 60_000;

/**
 * How long one module may hold a thread. The largest real plugins take 1-2 s
 * (a 1.1 MB Haskell module: ~0.6 s alone, seconds on a loaded machine); a
 * module that takes longer is refused and its thread ended, so no upload can
 * hold the instrumenter, and the loads queued behind it, for good.
 */
export const INSTRUMENT_JOB_TIMEOUT_MS = 60_000;

/** Thrown by `run` when no thread could start: the caller instruments on its own thread. */
export class InstrumentThreadsUnavailable extends Error {
  override readonly name = "InstrumentThreadsUnavailable";
}

interface Pending {
  job: InstrumentJob;
  /** Spare-time work (nobody waits for it, until `need` says someone does). */
  spare: boolean;
  /** The bytes as the caller passed them (`need` finds a job by them). */
  source: Uint8Array;
  resolve: (result: InstrumentOutput) => void;
  reject: (error: Error) => void;
}

interface Thread {
  worker: Worker;
  ready: boolean;
  busy: Pending | null;
  /** Until it is ready: its start timeout; then its job's time limit, or, idle, when it ends. */
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Threads that instrument modules, started on demand. */
export class InstrumentPool {
  readonly #entry: URL;
  readonly #size: number;
  readonly #idleMs: number;
  readonly #jobTimeoutMs: number;
  readonly #threads = new Set<Thread>();
  readonly #queue: Pending[] = [];
  /** Jobs for spare time: run only by a running thread with nothing in `#queue`; never start one. */
  readonly #spare: Pending[] = [];
  #nextId = 1;
  #unavailable: string | null = null;
  #closed = false;
  readonly #spareQuietMs: number;
  /** `performance.now()` when a job someone waits for was last submitted or answered. */
  #lastNeeded = -Infinity;
  /** Pumps the spare jobs once the quiet period has passed (see SPARE_QUIET_MS). */
  #spareTimer: ReturnType<typeof setTimeout> | undefined;

  /** `entry`: the thread's module (worker-main.ts, or its bundle). */
  constructor(
    entry: URL,
    options: { size?: number; idleMs?: number; jobTimeoutMs?: number; spareQuietMs?: number } = {},
  ) {
    this.#entry = entry;
    this.#size = Math.max(1, options.size ?? Math.min(4, availableParallelism()));
    this.#idleMs = options.idleMs ?? INSTRUMENT_IDLE_MS;
    this.#jobTimeoutMs = options.jobTimeoutMs ?? INSTRUMENT_JOB_TIMEOUT_MS;
    this.#spareQuietMs = options.spareQuietMs ?? SPARE_QUIET_MS;
  }

  /** Threads running now (started or starting). */
  get threads(): number {
    return this.#threads.size;
  }

  /** Why no thread can start, or null while they can. */
  get unavailable(): string | null {
    return this.#unavailable;
  }

  /**
   * Instruments `wasm` on a thread, which compiles the result too. Rejects as
   * `instrument` would (HostError), or with InstrumentThreadsUnavailable when
   * no thread can start.
   */
  async run(wasm: Uint8Array, options: InstrumentOptions): Promise<ThreadInstrumented> {
    const result = await this.#submit(wasm, { kind: "instrument", options });
    if (!("fuelGlobal" in result)) throw new Error("the thread answered with the wrong kind");
    return result;
  }

  /**
   * Makes the worker-mode form of bytes `instrument` metered on a thread (as
   * `workerVariant` would), compiled there too unless `spare`; rejects like
   * `run`. With `spare`, only in spare time: after every other job, on a
   * thread already running (it rejects with InstrumentThreadsUnavailable when
   * none is, or once the last one ends). A spare variant is not compiled
   * unless `need` asks for it before it runs: most are never used, and a
   * compiled module holds memory.
   */
  async workerVariant(metered: Uint8Array, spare = false): Promise<ThreadVariant> {
    const result = await this.#submit(metered, { kind: "worker-variant", compile: !spare }, spare);
    if ("fuelGlobal" in result) throw new Error("the thread answered with the wrong kind");
    return result;
  }

  #submit(wasm: Uint8Array, task: InstrumentTask, spare = false): Promise<InstrumentOutput> {
    if (this.#unavailable !== null) {
      return Promise.reject(new InstrumentThreadsUnavailable(this.#unavailable));
    }
    if (this.#closed) return Promise.reject(new InstrumentThreadsUnavailable("the pool is closed"));
    if (spare && this.#threads.size === 0) {
      return Promise.reject(new InstrumentThreadsUnavailable("no thread is running"));
    }
    // A view is copied to its own bytes: posting it would copy the whole buffer under it.
    const own = wasm.byteOffset === 0 && wasm.byteLength === wasm.buffer.byteLength
      ? wasm
      : wasm.slice();
    if (!spare) this.#lastNeeded = performance.now();
    return new Promise((resolve, reject) => {
      const pending = {
        job: { id: this.#nextId++, wasm: own, task },
        spare,
        source: wasm,
        resolve,
        reject,
      };
      (spare ? this.#spare : this.#queue).push(pending);
      this.#pump();
    });
  }

  /**
   * Someone now waits for the spare-time job submitted with these very bytes
   * (a plugin that needs its worker variant to load): it runs as soon as a
   * thread is free, not after the quiet period. No effect once it has started.
   */
  need(wasm: Uint8Array): void {
    const index = this.#spare.findIndex((pending) => pending.source === wasm);
    if (index < 0) return;
    const [pending] = this.#spare.splice(index, 1);
    pending!.spare = false;
    // Not yet posted to a thread: a worker variant someone waits for is compiled there too.
    if (pending!.job.task.kind === "worker-variant") {
      pending!.job.task = { kind: "worker-variant", compile: true };
    }
    this.#queue.push(pending!);
    this.#lastNeeded = performance.now();
    this.#pump();
  }

  /**
   * Starts a thread now, before any job (none if one runs, or none can): for
   * a host about to load plugins that must all be instrumented, so that the
   * thread's start and binaryen's load overlap the loads' reading and
   * verifying. Unused, it ends after the idle time like any other.
   */
  prestart(): void {
    if (this.#threads.size === 0 && this.#unavailable === null && !this.#closed) this.#start();
  }

  /** Ends every thread; queued and running jobs reject with InstrumentThreadsUnavailable. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#spareTimer);
    const gone = new InstrumentThreadsUnavailable("the pool is closed");
    for (const pending of this.#queue.splice(0)) pending.reject(gone);
    for (const pending of this.#spare.splice(0)) pending.reject(gone);
    await Promise.all([...this.#threads].map((thread) => this.#end(thread, gone)));
  }

  /**
   * The next job for an idle thread: one someone waits for, else a spare one
   * once the pool has been quiet for `#spareQuietMs` (a timer pumps then).
   */
  #take(): Pending | undefined {
    const needed = this.#queue.shift();
    if (needed !== undefined || this.#spare.length === 0) return needed;
    const quietFor = performance.now() - this.#lastNeeded;
    if (quietFor >= this.#spareQuietMs) return this.#spare.shift();
    if (this.#spareTimer === undefined) {
      this.#spareTimer = unrefTimer(() => {
        this.#spareTimer = undefined;
        this.#pump();
      }, this.#spareQuietMs - quietFor);
    }
    return undefined;
  }

  #pump(): void {
    for (const thread of this.#threads) {
      if (this.#queue.length + this.#spare.length === 0) return;
      if (thread.ready && thread.busy === null) {
        const pending = this.#take();
        if (pending === undefined) break;
        this.#assign(thread, pending);
      }
    }
    const starting = [...this.#threads].filter((t) => !t.ready).length;
    if (this.#queue.length > starting && this.#threads.size < this.#size) this.#start();
  }

  #assign(thread: Thread, pending: Pending): void {
    clearTimeout(thread.timer);
    thread.timer = unrefTimer(() => this.#overran(thread), this.#jobTimeoutMs);
    thread.busy = pending;
    thread.worker.ref(); // a job in flight keeps the process alive until it is answered
    thread.worker.postMessage(pending.job);
  }

  #start(): void {
    let worker: Worker;
    try {
      worker = new Worker(this.#entry, { ...workerArgs() });
    } catch (error) {
      // Refused at once (no thread to be had, an entry Node cannot load): as a failed start.
      return this.#cannotStart(messageOf(error));
    }
    // No --liftoff-only while binaryen loads here (baseline-wasm.ts): the flag is process-wide and
    // would hold every plugin instantiation for each thread's start; a thread instruments many
    // modules, for which V8's tiering costs nothing (docs/sandbox.md).
    const thread: Thread = { worker, ready: false, busy: null, timer: undefined };
    this.#threads.add(thread);
    thread.timer = unrefTimer(
      () => this.#startFailed(thread, `it did not load within ${START_TIMEOUT_MS / 1000} s`),
      START_TIMEOUT_MS,
    );
    worker.on("message", (reply: InstrumentReply) => this.#reply(thread, reply));
    worker.on("error", (error: unknown) => this.#died(thread, messageOf(error)));
    worker.on("exit", (code) => this.#died(thread, `the thread exited with code ${code}`));
  }

  #reply(thread: Thread, reply: InstrumentReply): void {
    if (!this.#threads.has(thread)) return;
    if (reply.kind === "ready") {
      clearTimeout(thread.timer);
      thread.ready = true;
      this.#next(thread);
      return;
    }
    const pending = thread.busy;
    if (pending === null || pending.job.id !== reply.id) return;
    thread.busy = null;
    if (!pending.spare) this.#lastNeeded = performance.now();
    if (reply.kind === "done") pending.resolve(reply.result);
    else {
      pending.reject(
        reply.code !== null && isErrorCode(reply.code)
          ? new HostError(
            reply.code,
            reply.message,
            reply.details ? { details: reply.details } : {},
          )
          : new Error(reply.message),
      );
    }
    this.#next(thread);
  }

  /** Spare-time jobs never start a thread: once none runs, they go back to their callers. */
  #dropSpare(): void {
    if (this.#threads.size > 0) return;
    const gone = new InstrumentThreadsUnavailable("no thread is running");
    for (const pending of this.#spare.splice(0)) pending.reject(gone);
  }

  /** Gives `thread` the next job, or lets it idle (not keeping the process alive). */
  #next(thread: Thread): void {
    const pending = this.#take();
    if (pending !== undefined) return this.#assign(thread, pending);
    thread.worker.unref();
    clearTimeout(thread.timer);
    thread.timer = unrefTimer(() => void this.#end(thread, null), this.#idleMs);
    this.#pump();
  }

  /** A job passed its time limit: it fails, its thread ends, the next job gets a new one. */
  #overran(thread: Thread): void {
    const seconds = this.#jobTimeoutMs / 1000;
    void this.#end(
      thread,
      new HostError(
        "load_error",
        `Instrumenting the module took longer than ${seconds} s, the instrumenter's limit; ` +
          "a module this large or this complex cannot be loaded",
      ),
    );
    this.#pump();
  }

  #died(thread: Thread, why: string): void {
    if (!thread.ready) return this.#startFailed(thread, why);
    if (!this.#threads.delete(thread)) return; // ended on purpose
    this.#dropSpare();
    clearTimeout(thread.timer);
    thread.busy?.reject(
      new HostError(
        "load_error",
        `The instrumenter's thread stopped while instrumenting the module (${why}); ` +
          "if this module stops it again, it is more than the instrumenter can read",
      ),
    );
    this.#pump();
  }

  #startFailed(thread: Thread, why: string): void {
    if (!this.#threads.delete(thread)) return;
    this.#dropSpare();
    clearTimeout(thread.timer);
    void thread.worker.terminate();
    this.#cannotStart(why);
  }

  /**
   * A thread could not start (or load its code): no thread is started again in this
   * process, and every job not yet done goes back to its caller's thread. Retrying
   * would loop when the cause lasts (an entry deleted under a running host, say).
   */
  #cannotStart(why: string): void {
    if (this.#unavailable !== null) return;
    this.#unavailable = `the instrumenter's thread could not start (${why})`;
    process.emitWarning(`${this.#unavailable}; instrumenting on the host's own thread`);
    const gone = new InstrumentThreadsUnavailable(this.#unavailable);
    for (const pending of this.#queue.splice(0)) pending.reject(gone);
    for (const thread of [...this.#threads]) void this.#end(thread, gone);
  }

  async #end(thread: Thread, error: Error | null): Promise<void> {
    if (!this.#threads.delete(thread)) return;
    this.#dropSpare();
    clearTimeout(thread.timer);
    if (thread.busy !== null && error !== null) thread.busy.reject(error);
    await thread.worker.terminate();
  }
}

/** A timer that never keeps the process alive. */
function unrefTimer(run: () => void, ms: number): ReturnType<typeof setTimeout> {
  const timer = setTimeout(run, ms);
  (timer as { unref?: () => void }).unref?.();
  return timer;
}

/**
 * The thread's module for this build, or null where threads cannot load it:
 * bundles put `instrument-worker.mjs` (or `.js`) beside their chunks; Deno runs
 * the TypeScript source; Node cannot load `.ts` in a thread.
 */
export function instrumentWorkerEntry(): URL | null {
  const candidates = [
    new URL("./instrument-worker.mjs", import.meta.url),
    new URL("./instrument-worker.js", import.meta.url),
    ...(isDeno ? [new URL("./instrument/worker-main.ts", import.meta.url)] : []),
  ];
  return candidates.find(isFile) ?? null;
}

/** True for a `file:` URL of a file that exists and may be read (Deno's permissions may refuse). */
function isFile(url: URL): boolean {
  try {
    return url.protocol === "file:" && existsSync(fileURLToPath(url));
  } catch {
    return false;
  }
}

let shared: InstrumentPool | null | undefined;

/** The process's pool, or null where threads cannot load the instrumenter. */
export function instrumentPool(): InstrumentPool | null {
  if (shared === undefined) {
    const entry = instrumentWorkerEntry();
    shared = entry === null ? null : new InstrumentPool(entry);
  }
  return shared;
}
