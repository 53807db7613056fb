/**
 * Not a benchmark: a load for a CPU profile of a large echo through the host
 * with the AssemblyScript SDK's echo (bulk ABI), where goal 3's time goes.
 * Run: node --cpu-prof --cpu-prof-dir=/tmp/prof scripts/run-ts.mjs test/bench/_profile-sdk-echo.ts [BYTES=65536]
 * @module
 */
import process from "node:process";
import { join } from "node:path";
import { compileAssemblyScript, root } from "../sdk/asc.ts";
import { hostSide, usPer } from "./_sides.ts";

const size = Number(process.argv[2] ?? 65536);
const host = await hostSide(
  await compileAssemblyScript(join(root, "sdk", "as", "test", "echo.ts")),
);
try {
  const input = new Uint8Array(Math.max(size, 2)).fill(65);
  input[0] = input[input.length - 1] = 0x22;
  for (let r = 0; r < 6; r++) {
    const us = await usPer(200, () => host.call(input));
    process.stdout.write(
      `${size} B SDK echo: ${us.toFixed(0)} us/call, ${
        (size / us * 1e6 / 1048576).toFixed(1)
      } MiB/s\n`,
    );
    await host.store.flush();
  }
} finally {
  await host.close();
}
