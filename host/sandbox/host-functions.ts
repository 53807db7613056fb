/**
 * Adapts the host's `HostFunction`s (bytes in, bytes out) to Extism's import
 * signature (memory offset in, memory offset out), and meters them: each call
 * costs HOST_FUNCTION_FUEL plus HOST_BYTE_FUEL per byte in and out, charged
 * through the call's state on the thread that runs the host function (see
 * docs/metering.md, "Host calls"). A host function that throws gives the
 * plugin an ABI error result (`{"error":{"code":"host_error",...}}`) instead
 * of killing the instance.
 * @module
 */
import type { CallContext as ExtismCallContext } from "@extism/extism";
import { SandboxAbort } from "./classify.ts";
import { type CallState, now } from "./call-state.ts";
import { bulkCopyFuel, HOST_BYTE_FUEL, HOST_FUNCTION_FUEL } from "./instrument/costs.ts";
import { Preempted } from "./slice.ts";
import { hostCallGate } from "./host-call-gate.ts";
import { STOP_ANSWER } from "./worker-stop.ts";
import { trimEchoedNulls } from "./block-sync.ts";
import type { HostFunction } from "./types.ts";

type ExtismFunction = (ctx: ExtismCallContext, offset: bigint) => bigint | Promise<bigint>;

const encoder = new TextEncoder();

/** The ABI's error result as bytes. */
export function errorResult(code: string, message: string): Uint8Array {
  return encoder.encode(JSON.stringify({ error: { code, message } }));
}

function stateOf(ctx: ExtismCallContext, name: string): CallState {
  const state = ctx.hostContext<CallState | null>();
  // Extism sets the context for a call only: outside one, only start code can call in.
  if (!state) {
    throw new SandboxAbort(
      "load_error",
      `The plugin called host function '${name}' outside a call (from its start code?): host ` +
        "functions answer only during a call",
    );
  }
  return state;
}

function inputOf(ctx: ExtismCallContext, offset: bigint): Uint8Array {
  return ctx.read(offset)?.bytes() ?? new Uint8Array();
}

function describe(name: string, error: unknown): string {
  return `Host function '${name}' failed: ${
    error instanceof Error ? error.message : String(error)
  }`;
}

/** Takes `amount` of fuel for host function `name` (the instance decides what running out means). */
export function chargeHost(state: CallState, name: string, amount: bigint): void {
  state.hostFuel += amount;
  state.charge?.(amount, name);
}

/** What a call of `name` with `bytes` of input costs before it runs. */
function entryCost(bytes: number): bigint {
  return HOST_FUNCTION_FUEL + HOST_BYTE_FUEL * BigInt(bytes);
}

/**
 * Stores a host function's answer as an Extism block. Extism refuses a block
 * past the plugin's memory cap by returning handle 0, which `store` turns
 * into a plain Error: report it as what it is.
 */
function storeOutput(ctx: ExtismCallContext, output: Uint8Array, state: CallState): bigint {
  try {
    return ctx.store(output);
  } catch (error) {
    if (error instanceof Error && error.message === "failed to store output") {
      const flagged = {
        class: "memory_limit" as const,
        message:
          `The plugin's Extism blocks passed the memory cap (a host function answered ${output.byteLength} bytes)`,
      };
      state.flagged = flagged;
      throw new SandboxAbort(flagged.class, flagged.message);
    }
    throw error;
  }
}

/**
 * Main-thread wrappers: synchronous; the call's deadline and its slice are
 * checked around each host call, and fuel is charged before the host function
 * runs (so a call out of fuel has no effect).
 */
export function syncHostFunctions(
  functions: Record<string, HostFunction>,
  final: ReadonlySet<string> | null,
): Record<string, ExtismFunction> {
  const wrapped: Record<string, ExtismFunction> = {};
  for (const [name, fn] of Object.entries(functions)) {
    // Without a way to re-run, every host function's effect is final.
    const isFinal = final === null || final.has(name);
    wrapped[name] = (ctx, offset) => {
      const state = stateOf(ctx, name);
      checkTime(state, name);
      const input = inputOf(ctx, offset);
      chargeHost(state, name, entryCost(input.byteLength));
      state.called.add(name);
      if (isFinal) state.final = true;
      let output: Uint8Array;
      const started = now();
      try {
        const result = fn(state.call, input);
        if (result instanceof Promise) {
          result.catch(() => {});
          throw new SandboxAbort(
            "host_error",
            `Host function '${name}' is async; async host functions need mode "worker"`,
          );
        }
        output = result;
      } catch (error) {
        if (error instanceof SandboxAbort) throw error;
        output = errorResult("host_error", describe(name, error));
      } finally {
        // The hold backstop is for work the plugin makes the host do unpriced (Extism's kernel),
        // not for the embedder's own host functions: a slow one must not cut a final call.
        if (state.holdUntil !== null) state.holdUntil += now() - started;
      }
      chargeHost(state, name, HOST_BYTE_FUEL * BigInt(output.byteLength));
      checkTime(state, name);
      return storeOutput(ctx, output, state);
    };
  }
  return wrapped;
}

/**
 * Worker-mode wrappers: may await; errors never escape (a throw would kill
 * Extism's worker), except for a call the instance already gave up on. A call
 * whose charges pass its budget is stopped by the instance; the host function
 * does not run.
 */
export function asyncHostFunctions(
  functions: Record<string, HostFunction>,
): Record<string, ExtismFunction> {
  const wrapped: Record<string, ExtismFunction> = {};
  for (const [name, fn] of Object.entries(functions)) {
    wrapped[name] = async (ctx, offset) => {
      // The host thread's share for worker host calls (host-call-gate.ts): wait for a turn,
      // unless the message that brought this call already waited (invoke-gate.ts) and counts
      // the time up to the host function's first wait.
      const given = hostCallGate.turn;
      // Through the gate: Extism's answer may leave out what the worker knows (block-sync.ts).
      if (given) {
        trimEchoedNulls(ctx);
        given.entered = performance.now();
      }
      const turn = given ? undefined : hostCallGate.admit();
      if (turn) await turn;
      let busy = 0;
      let output: Uint8Array;
      let stop = false;
      try {
        const state = stateOf(ctx, name);
        // The worker waits for this answer: not the plugin's CPU (worker-refuel.ts). Paused already
        // when the message arrived where invoke-gate.ts is in place; this covers where it is not.
        state.fuel?.pause();
        // A call past its deadline (or stopped) gets the stop, and the host function is not run.
        if (state.flagged) throw new SandboxAbort(state.flagged.class, state.flagged.message);
        if (now() > state.deadline) {
          const message = `The call passed its ${state.limits.timeoutMs} ms timeout`;
          // Classified as a timeout whether this stops it or the deadline's timer does.
          state.flagged = { class: "timeout", message };
          throw new SandboxAbort("timeout", message);
        }
        const input = inputOf(ctx, offset);
        chargeHost(state, name, entryCost(input.byteLength));
        state.called.add(name);
        const t0 = performance.now();
        try {
          const pending = fn(state.call, input);
          busy = performance.now() - t0;
          output = await pending;
        } catch (error) {
          output = errorResult("host_error", describe(name, error));
        }
        chargeHost(state, name, HOST_BYTE_FUEL * BigInt(output.byteLength));
        // Stopped while it ran (its deadline passed): the answer is dropped and stops the call.
        const late = (state as CallState).flagged; // set meanwhile, by the instance
        if (late) throw new SandboxAbort(late.class, late.message);
      } catch (error) {
        // Out of fuel or past the deadline: the answer stops the call in the worker (worker-stop.ts).
        stop = error instanceof SandboxAbort &&
          (error.code === "timeout" || error.code === "fuel_exhausted");
        // No call (start code): the load is stopping; the plugin is told why. Anything else is
        // the host's.
        output = !(error instanceof SandboxAbort)
          ? errorResult("host_error", describe(name, error))
          : error.code === "timeout"
          ? errorResult("timeout", error.message)
          : errorResult(error.code, describe(name, error));
      }
      // Extism copies the block table back after this returns; the check phase comes after it.
      const t1 = performance.now();
      setImmediate(() => {
        const after = performance.now() - t1;
        if (given) given.owe(hostCallGate.spend(after));
        else hostCallGate.settle(busy + after);
      });
      // The call was given up on (its worker ended): an answer would be written for a thread
      // that is gone, and Extism would wait for it for ever, holding a timer and a copy of the
      // plugin's blocks. A throw takes Extism's failure path, which lets go of both.
      if (ctx.hostContext<CallState | null>()?.ended) {
        throw new Error(`The call ended while host function '${name}' ran; its answer is dropped`);
      }
      ctx.hostContext<CallState | null>()?.fuel?.resume();
      return stop ? STOP_ANSWER : ctx.store(output);
    };
  }
  return wrapped;
}

function checkTime(state: CallState, name: string): void {
  const at = now();
  if (at > state.deadline) {
    throw new SandboxAbort(
      "timeout",
      `The call passed its ${state.limits.timeoutMs} ms timeout (noticed in host function '${name}')`,
    );
  }
  if (state.sliceUntil !== null && !state.final && at > state.sliceUntil) {
    throw new Preempted("time");
  }
  if (state.holdUntil !== null && at > state.holdUntil) throw new Preempted("held");
}

/**
 * The deadline and slice check for Extism's own kernel functions that work on
 * the host's thread (vars, config, logs: each decodes or copies a whole
 * block). Time only, no fuel: in a worker they run inside Extism's worker, out
 * of the host's reach, and a call's fuel is the same in both modes.
 */
export function checkKernelTime(ctx: ExtismCallContext, name: string): void {
  const state = ctx.hostContext<CallState | null>();
  if (state) checkTime(state, name);
}

/**
 * Charges a kernel-level copy of `bytes` (the bulk I/O functions) with
 * {@link bulkCopyFuel}, the figure worker-bulk.ts charges in a worker, then checks the call's deadline and slice: a
 * loop of large copies is bounded by fuel and time like any host call.
 */
export function meterCopy(ctx: ExtismCallContext, name: string, bytes: number): void {
  const state = ctx.hostContext<CallState | null>();
  if (!state) return;
  chargeHost(state, name, bulkCopyFuel(bytes));
  checkTime(state, name);
}

/** The slice check for host-side code other than host functions (e.g. the alloc override). */
export function checkSlice(state: CallState | null): void {
  if (state?.sliceUntil != null && !state.final && now() > state.sliceUntil) {
    throw new Preempted("time");
  }
  if (state?.holdUntil != null && now() > state.holdUntil) throw new Preempted("held");
}
