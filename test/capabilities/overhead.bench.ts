/**
 * What the capability layer costs per call (prints figures, asserts nothing):
 * hello (no grants) vs counter (KV: fingerprint query before the call, one
 * write transaction after it) vs counter get (KV read only, no commit), in
 * main mode through runtime.invoke with a RunRecord each (not waiting for it to be durable).
 * Run: node scripts/run-ts.mjs test/capabilities/overhead.bench.ts
 */
import process from "node:process";
import { json, type TestHost, testHost } from "./harness.ts";

const ROUNDS = 5;
const CALLS = 200;

async function perCall(t: TestHost, plugin: string, capability: string, input?: unknown) {
  const medians: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const started = performance.now();
    for (let i = 0; i < CALLS; i++) {
      const result = await t.host.runtime.invoke({
        pluginId: plugin,
        capability,
        input: input === undefined ? new Uint8Array() : json(input),
        trigger: "cli",
      });
      if (!result.ok) throw new Error(result.error.message);
    }
    medians.push((performance.now() - started) / CALLS);
  }
  medians.sort((a, b) => a - b);
  return medians[Math.floor(ROUNDS / 2)]!;
}

const t = await testHost();
try {
  await t.load("hello");
  await t.load("counter");
  const figures = {
    "hello greet (no host functions)": await perCall(t, "example.hello", "greet", { name: "a" }),
    "counter get (KV read)": await perCall(t, "example.counter", "get"),
    "counter increment (KV read + commit)": await perCall(t, "example.counter", "increment"),
  };
  for (const [name, ms] of Object.entries(figures)) {
    process.stdout.write(`${name.padEnd(40)} ${(ms * 1000).toFixed(0)} us/call\n`);
  }
} finally {
  await t.close();
}
