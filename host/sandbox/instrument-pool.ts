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
 * threads cannot load `.ts`; or a start that fails), modules are instrumented
 * on the calling thread as before; `instrumentThreadsUnavailable()` says why.
 * @module
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { withBaselineWasm } from "../adapter/baseline-wasm.ts";
import { isDeno, workerArgs } from "../adapter/worker-args.ts";
import { HostError, isErrorCode } from "../errors.ts";
import type { InstrumentJob, InstrumentReply } from "./instrument/thread-protocol.ts";
import type { InstrumentedModule, InstrumentOptions } from "./instrument/types.ts";

/** How long an idle thread is kept (binaryen's load is ~0.3 s; its memory tens of MiB). */
export const INSTRUMENT_IDLE_MS = 30_000;

/** Thrown by `run` when no thread could start: the caller instruments on its own thread. */
export class InstrumentThreadsUnavailable extends Error {
  override readonly name = "InstrumentThreadsUnavailable";
}

interface Pending {
  job: InstrumentJob;
  resolve: (result: InstrumentedModule) => void;
  reject: (error: Error) => void;
}

interface Thread {
  worker: Worker;
  ready: boolean;
  busy: Pending | null;
  idle: ReturnType<typeof setTimeout> | undefined;
}

/** Threads that instrument modules, started on demand. */
export class InstrumentPool {
  readonly #entry: URL;
  readonly #size: number;
  readonly #idleMs: number;
  readonly #threads = new Set<Thread>();
  readonly #queue: Pending[] = [];
  #nextId = 1;
  #everReady = false;
  #unavailable: string | null = null;
  #closed = false;

  /** `entry`: the thread's module (worker-main.ts, or its bundle). */
  constructor(entry: URL, options: { size?: number; idleMs?: number } = {}) {
    this.#entry = entry;
    this.#size = Math.max(1, options.size ?? Math.min(4, availableParallelism()));
    this.#idleMs = options.idleMs ?? INSTRUMENT_IDLE_MS;
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
   * Instruments `wasm` on a thread. Rejects as `instrument` would (HostError),
   * or with InstrumentThreadsUnavailable when no thread can start.
   */
  run(wasm: Uint8Array, options: InstrumentOptions): Promise<InstrumentedModule> {
    if (this.#unavailable !== null) {
      return Promise.reject(new InstrumentThreadsUnavailable(this.#unavailable));
    }
    if (this.#closed) return Promise.reject(new InstrumentThreadsUnavailable("the pool is closed"));
    return new Promise((resolve, reject) => {
      this.#queue.push({ job: { id: this.#nextId++, wasm, options }, resolve, reject });
      this.#pump();
    });
  }

  /** Ends every thread; queued and running jobs reject with InstrumentThreadsUnavailable. */
  async close(): Promise<void> {
    this.#closed = true;
    const gone = new InstrumentThreadsUnavailable("the pool is closed");
    for (const pending of this.#queue.splice(0)) pending.reject(gone);
    await Promise.all([...this.#threads].map((thread) => this.#end(thread, gone)));
  }

  #pump(): void {
    for (const thread of this.#threads) {
      if (this.#queue.length === 0) return;
      if (thread.ready && thread.busy === null) this.#assign(thread, this.#queue.shift()!);
    }
    const starting = [...this.#threads].filter((t) => !t.ready).length;
    if (this.#queue.length > starting && this.#threads.size < this.#size) this.#start();
  }

  #assign(thread: Thread, pending: Pending): void {
    clearTimeout(thread.idle);
    thread.busy = pending;
    thread.worker.ref(); // a job in flight keeps the process alive until it is answered
    thread.worker.postMessage(pending.job);
  }

  #start(): void {
    const worker = new Worker(this.#entry, { ...workerArgs() });
    const thread: Thread = { worker, ready: false, busy: null, idle: undefined };
    this.#threads.add(thread);
    // V8 compiles binaryen by its baseline compiler while the thread loads it (the flag is
    // process-wide; plugin code compiled meanwhile waits for it, baseline-wasm.ts).
    let loaded!: () => void;
    void withBaselineWasm(() => new Promise<void>((resolve) => (loaded = resolve)));
    worker.on("message", (reply: InstrumentReply) => this.#reply(thread, reply, loaded));
    worker.on("error", (error) => this.#failed(thread, error.message, loaded));
    worker.on(
      "exit",
      (code) => this.#failed(thread, `the thread exited with code ${code}`, loaded),
    );
  }

  #reply(thread: Thread, reply: InstrumentReply, loaded: () => void): void {
    if (reply.kind === "ready") {
      loaded();
      thread.ready = true;
      this.#everReady = true;
      this.#next(thread);
      return;
    }
    const pending = thread.busy;
    if (pending === null || pending.job.id !== reply.id) return;
    thread.busy = null;
    if (reply.kind === "done") pending.resolve(reply.result);
    else {
      pending.reject(
        reply.code !== null && isErrorCode(reply.code)
          ? new HostError(reply.code, reply.message)
          : new Error(reply.message),
      );
    }
    this.#next(thread);
  }

  /** Gives `thread` the next job, or lets it idle (not keeping the process alive). */
  #next(thread: Thread): void {
    const pending = this.#queue.shift();
    if (pending !== undefined) return this.#assign(thread, pending);
    thread.worker.unref();
    clearTimeout(thread.idle);
    thread.idle = setTimeout(() => void this.#end(thread, null), this.#idleMs);
    (thread.idle as { unref?: () => void }).unref?.();
    this.#pump();
  }

  #failed(thread: Thread, why: string, loaded: () => void): void {
    loaded();
    if (!this.#threads.delete(thread)) return; // ended on purpose
    clearTimeout(thread.idle);
    if (!thread.ready && !this.#everReady) {
      // The first thread cannot start at all: instrument on the calling thread from now on.
      this.#unavailable = `the instrumenter's thread could not start (${why})`;
      process.emitWarning(`${this.#unavailable}; instrumenting on the host's own thread`);
      const gone = new InstrumentThreadsUnavailable(this.#unavailable);
      for (const pending of this.#queue.splice(0)) pending.reject(gone);
      return;
    }
    thread.busy?.reject(
      new HostError(
        "load_error",
        `The instrumenter's thread stopped while instrumenting the module (${why}); ` +
          "the module may need more memory than the instrumenter has: rebuild it smaller",
      ),
    );
    this.#pump();
  }

  async #end(thread: Thread, error: Error | null): Promise<void> {
    if (!this.#threads.delete(thread)) return;
    clearTimeout(thread.idle);
    if (thread.busy !== null && error !== null) thread.busy.reject(error);
    await thread.worker.terminate();
  }
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
  return candidates.find((url) => url.protocol === "file:" && existsSync(fileURLToPath(url))) ??
    null;
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
