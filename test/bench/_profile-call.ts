/**
 * Not a benchmark: a load for a CPU profile of the host's in-process call path
 * (the signed echo plugin through runtime.invoke), to see where its time goes.
 * Run: node --cpu-prof --cpu-prof-dir=/tmp/prof scripts/run-ts.mjs test/bench/_profile-call.ts [BYTES=16]
 * then open the .cpuprofile in Chrome DevTools (Performance) and sort by self time.
 * @module
 */
import process from "node:process";
import { hostSide, usPer } from "./_sides.ts";

const size = Number(process.argv[2] ?? 16);
const host = await hostSide();
try {
  // A JSON string of `size` bytes: capability inputs must be JSON.
  const input = new Uint8Array(Math.max(size, 2)).fill(65);
  input[0] = input[input.length - 1] = 0x22;
  for (let r = 0; r < 6; r++) {
    const us = await usPer(size > 1000 ? 30 : 500, () => host.call(input));
    process.stdout.write(`${size} B echo: ${us.toFixed(0)} us/call\n`);
    await host.store.flush();
  }
} finally {
  await host.close();
}
