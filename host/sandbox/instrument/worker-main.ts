/**
 * The instrumenter's thread, started by host/sandbox/instrument-pool.ts:
 * instruments each module it is sent (or makes the worker-mode form of one
 * already instrumented), so binaryen's tens of milliseconds for
 * a small plugin and seconds for a large one never hold the host's event loop.
 * @module
 */
import { parentPort } from "node:worker_threads";
import { HostError } from "../../errors.ts";
import { messageOf } from "../classify.ts";
import { instrument } from "./instrument.ts";
import { workerVariant } from "./worker-variant.ts";
import type { InstrumentJob, InstrumentReply } from "./thread-protocol.ts";

const port = parentPort;
if (port === null) {
  throw new Error("worker-main.ts runs only as the instrumenter's thread (instrument-pool.ts)");
}

port.on("message", (job: InstrumentJob) => {
  let reply: InstrumentReply;
  const transfer = new Set<ArrayBuffer>();
  try {
    const task = job.task;
    const result = task.kind === "instrument"
      ? compiled(instrument(job.wasm, task.options))
      : task.compile
      ? compiled({ bytes: workerVariant(job.wasm) })
      : { bytes: workerVariant(job.wasm) };
    reply = { kind: "done", id: job.id, result };
    // Moved, not copied: the thread keeps nothing of a module it has answered.
    if (result.bytes.buffer instanceof ArrayBuffer) transfer.add(result.bytes.buffer);
  } catch (error) {
    reply = error instanceof HostError
      ? {
        kind: "failed",
        id: job.id,
        code: error.code,
        message: error.message,
        ...(error.details ? { details: error.details } : {}),
      }
      : {
        kind: "failed",
        id: job.id,
        code: null,
        message: messageOf(error),
      };
  }
  try {
    port.postMessage(reply, [...transfer]);
  } catch (error) {
    // A runtime that cannot send a compiled module (none known): the bytes go alone, and the
    // host compiles them, as it does for a thread that did not compile. A failed post moved no
    // buffer, so the bytes are still here.
    if (reply.kind === "done" && reply.result.module !== undefined) {
      const { module: _, ...bytesOnly } = reply.result;
      port.postMessage({ ...reply, result: bytesOnly }, [...transfer]);
      return;
    }
    // Details that cannot be cloned: the code and message still reach the host.
    if (reply.kind !== "failed") throw error;
    port.postMessage({ ...reply, details: undefined });
  }
});
port.postMessage({ kind: "ready" } satisfies InstrumentReply);

/**
 * The instrumented module compiled here as well (V8 shares a compiled module
 * between threads): without it the host's thread compiled it again, waiting
 * in V8's one compile queue behind the optimizing compiles of this thread's
 * binaryen. A compile that fails leaves it to the host, which says why.
 */
function compiled<T extends { bytes: Uint8Array }>(
  result: T,
): T & { module?: WebAssembly.Module } {
  try {
    return { ...result, module: new WebAssembly.Module(result.bytes as BufferSource) };
  } catch {
    return result;
  }
}
