/**
 * Host functions: the per-call context comes from the host, a throwing host
 * function becomes an error result (the instance lives on), async ones need
 * worker mode, and the timeout bounds time spent in them.
 */
import { describe, expect, it } from "vitest";
import { type HostCall, type HostFunction, loadPlugin } from "../../host/sandbox/mod.ts";
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
});
