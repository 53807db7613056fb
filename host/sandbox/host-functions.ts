/**
 * Adapts the host's `HostFunction`s (bytes in, bytes out) to Extism's import
 * signature (memory offset in, memory offset out). A host function that throws
 * gives the plugin an ABI error result (`{"error":{"code":"host_error",...}}`)
 * instead of killing the instance.
 * @module
 */
import type { CallContext as ExtismCallContext } from "@extism/extism";
import { SandboxAbort } from "./classify.ts";
import type { CallState } from "./call-state.ts";
import type { HostFunction } from "./types.ts";

type ExtismFunction = (ctx: ExtismCallContext, offset: bigint) => bigint | Promise<bigint>;

const encoder = new TextEncoder();

/** The ABI's error result as bytes. */
export function errorResult(code: string, message: string): Uint8Array {
  return encoder.encode(JSON.stringify({ error: { code, message } }));
}

function stateOf(ctx: ExtismCallContext): CallState {
  const state = ctx.hostContext<CallState | null>();
  // Extism clears the context between calls; a host function running outside a call is a host bug.
  if (!state) throw new SandboxAbort("host_error", "A host function ran outside a call");
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

/** Main-thread wrappers: synchronous; the call's deadline is checked around each host call. */
export function syncHostFunctions(
  functions: Record<string, HostFunction>,
): Record<string, ExtismFunction> {
  const wrapped: Record<string, ExtismFunction> = {};
  for (const [name, fn] of Object.entries(functions)) {
    wrapped[name] = (ctx, offset) => {
      const state = stateOf(ctx);
      checkDeadline(state, name);
      let output: Uint8Array;
      try {
        const result = fn(state.call, inputOf(ctx, offset));
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
      }
      checkDeadline(state, name);
      return ctx.store(output);
    };
  }
  return wrapped;
}

/** Worker-mode wrappers: may await; errors never escape (a throw would kill Extism's worker). */
export function asyncHostFunctions(
  functions: Record<string, HostFunction>,
): Record<string, ExtismFunction> {
  const wrapped: Record<string, ExtismFunction> = {};
  for (const [name, fn] of Object.entries(functions)) {
    wrapped[name] = async (ctx, offset) => {
      let output: Uint8Array;
      try {
        output = await fn(stateOf(ctx).call, inputOf(ctx, offset));
      } catch (error) {
        output = errorResult("host_error", describe(name, error));
      }
      return ctx.store(output);
    };
  }
  return wrapped;
}

function checkDeadline(state: CallState, name: string): void {
  if (Date.now() > state.deadline) {
    throw new SandboxAbort(
      "timeout",
      `The call passed its ${state.limits.timeoutMs} ms timeout (noticed in host function '${name}')`,
    );
  }
}
