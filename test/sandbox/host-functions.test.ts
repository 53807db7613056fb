/**
 * Host functions: the per-call context comes from the host, a throwing host
 * function becomes an error result (the instance lives on), async ones need
 * worker mode, and the timeout bounds time spent in them.
 */
import { describe, expect, it, vi } from "vitest";
import type { CallContext as ExtismCallContext } from "@extism/extism";
import { type HostCall, type HostFunction, loadPlugin } from "../../host/sandbox/mod.ts";
import { type CallState, newCallState } from "../../host/sandbox/call-state.ts";
import { SandboxAbort } from "../../host/sandbox/classify.ts";
import { asyncHostFunctions } from "../../host/sandbox/host-functions.ts";
import { STOP_ANSWER } from "../../host/sandbox/worker-stop.ts";
import { defaultLimits } from "../../host/sandbox/limits.ts";
import { fixture, text, utf8 } from "./fixtures.ts";

const answer = (value: unknown) => utf8(JSON.stringify({ ok: value }));

async function withProbe(
  probe: HostFunction,
  fn: (call: (input: string, ctx?: Partial<HostCall>) => Promise<unknown>) => Promise<void>,
  options: { mode?: "main" | "worker"; timeoutMs?: number } = {},
) {
  const plugin = await loadPlugin(fixture("host-call"), {
    mode: options.mode ?? "main",
    hostFunctions: { probe },
    limits: options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs },
  });
  try {
    await fn(async (input, ctx) => {
      const result = await plugin.call("run", utf8(input), ctx);
      return result.ok ? JSON.parse(text(result.output)) : { failed: result.error.class };
    });
  } finally {
    await plugin.close();
  }
}

for (const mode of ["main", "worker"] as const) {
  describe(`host functions, ${mode} mode`, () => {
    it("receive the host's per-call context and the plugin's input", async () => {
      await withProbe((call, input) => answer({ call, input: text(input) }), async (call) => {
        const got = await call("hi", { runId: "run-1", pluginId: "p", grants: { kv: true } });
        expect(got).toEqual({
          ok: {
            call: { runId: "run-1", pluginId: "p", capability: "run", grants: { kv: true } },
            input: "hi",
          },
        });
      }, { mode });
    });

    it("a host function that throws gives an error result and the instance lives on", async () => {
      let calls = 0;
      await withProbe(() => {
        calls++;
        if (calls === 1) throw new Error("store unavailable");
        return answer("fine");
      }, async (call) => {
        expect(await call("x")).toEqual({
          error: { code: "host_error", message: "Host function 'probe' failed: store unavailable" },
        });
        expect(await call("x")).toEqual({ ok: "fine" });
      }, { mode });
    });
  });
}

describe("async host functions", () => {
  const slow: HostFunction = async (_call, input) => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    return answer(text(input).toUpperCase());
  };

  it("work in worker mode", async () => {
    await withProbe(slow, async (call) => {
      expect(await call("abc")).toEqual({ ok: "ABC" });
    }, { mode: "worker" });
  });

  it("are refused in main mode with host_error", async () => {
    await withProbe(slow, async (call) => {
      expect(await call("abc")).toEqual({ failed: "host_error" });
    });
  });

  it("past the timeout end the call with timeout (worker), and the next call works", async () => {
    let hang = true;
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const sometimesHangs: HostFunction = async () => {
      if (hang) await held;
      return answer("done");
    };
    // A timeout well above a new worker's start on a loaded machine: the second call runs on
    // a replacement worker, and what this proves must not depend on how fast that starts.
    try {
      await withProbe(sometimesHangs, async (call) => {
        expect(await call("x")).toEqual({ failed: "timeout" });
        hang = false;
        expect(await call("x")).toEqual({ ok: "done" });
      }, { mode: "worker", timeoutMs: 2_000 });
    } finally {
      release();
    }
  });
});

describe("main-mode timeout", () => {
  it("a call whose host functions run past the deadline ends with timeout", async () => {
    const busyWait: HostFunction = () => {
      const until = Date.now() + 300;
      while (Date.now() < until) { /* the host function itself is slow */ }
      return answer("late");
    };
    await withProbe(busyWait, async (call) => {
      expect(await call("x")).toEqual({ failed: "timeout" });
    }, { timeoutMs: 100 });
  });

  it("a wall clock set back during the call does not lengthen its deadline", async () => {
    // Only Date is faked: the host function moves the wall clock back an hour, then works 300 ms.
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      const clockSetBack: HostFunction = () => {
        vi.setSystemTime(Date.now() - 3_600_000);
        const until = performance.now() + 300;
        while (performance.now() < until) { /* slow, by the monotonic clock */ }
        return answer("late");
      };
      await withProbe(clockSetBack, async (call) => {
        expect(await call("x")).toEqual({ failed: "timeout" });
      }, { timeoutMs: 100 });
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("worker-mode wrappers that cannot run the host function", () => {
  /** A call context as Extism's worker gives one: `state` as the host context, blocks stored. */
  function contextOf(state: CallState | null) {
    const stored: Uint8Array[] = [];
    const ctx = {
      hostContext: () => state,
      read: () => null,
      store: (bytes: Uint8Array) => (stored.push(bytes), 1n),
    } as unknown as ExtismCallContext;
    return { ctx, answer: () => JSON.parse(text(stored[0]!)) as { error: { code: string } } };
  }
  const probe = asyncHostFunctions({ probe: () => answer("ran") })["probe"]!;

  it("tell the plugin why: no call (start code) is not an empty fuel tank", async () => {
    const { ctx, answer: got } = contextOf(null);
    await probe(ctx, 0n);
    expect(got().error.code).toBe("load_error");
  });

  it("out of fuel or past the deadline answers the stop (worker-stop.ts), a failing charge the host's own error", async () => {
    const call = { runId: "r", pluginId: "p", capability: "run", grants: {} };
    const state = newCallState(call, { ...defaultLimits });
    state.charge = () => {
      throw new SandboxAbort("fuel_exhausted", "out of fuel");
    };
    const empty = contextOf(state);
    expect(await probe(empty.ctx, 0n)).toBe(STOP_ANSWER);
    state.charge = null;
    state.deadline = performance.now() - 1;
    expect(await probe(contextOf(state).ctx, 0n)).toBe(STOP_ANSWER);
    // The deadline seen first by a host call classifies the call (not a plain trap).
    expect(state.flagged?.class).toBe("timeout");
    state.flagged = null;
    state.deadline = performance.now() + 60_000;
    state.charge = () => {
      throw new TypeError("a bug in the host");
    };
    const broken = contextOf(state);
    await probe(broken.ctx, 0n);
    expect(broken.answer().error.code).toBe("host_error");
  });
});
