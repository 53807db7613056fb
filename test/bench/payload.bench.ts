/**
 * Payload throughput: echo of 1 KiB, 64 KiB and 1 MiB in MiB/s (input size per
 * second of wall time), the host's full in-process path vs bare Extism on the
 * main thread, interleaved per round. To find where the time goes, the same
 * PDK-style echo module also runs on a DataView kernel without Extism (the
 * cost of the 8-bytes-per-host-call ABI itself), and a block-copy echo shows
 * the floor of an ABI where the host copies whole blocks into and out of
 * linear memory (one call each way). A prototype of that faster path inside
 * Extism (two host functions that copy whole blocks, main thread) runs beside them.
 * Run: node scripts/run-ts.mjs test/bench/payload.bench.ts [--quick]
 * @module
 */
import { join } from "node:path";
import { loadPlugin } from "../../host/sandbox/mod.ts";
import { compileAssemblyScript, root } from "../sdk/asc.ts";
import { blockModule, echoModule, rawKernel } from "./_echo.ts";
import {
  bulkCall,
  calibrate,
  extismBulkSide,
  extismCall,
  extismSide,
  hostSide,
  recordOnly,
  usPer,
} from "./_sides.ts";
import { engine, interleave, quick, ratios, Reporter } from "./_stats.ts";

const rounds = quick ? 3 : 7;
const sampleMs = quick ? 60 : 100;
const sizes = [
  { id: "1k", label: "1 KiB", bytes: 1024 },
  { id: "64k", label: "64 KiB", bytes: 64 * 1024 },
  { id: "1m", label: "1 MiB", bytes: 1024 * 1024 },
];

/** The block-copy echo instantiated for one input. */
function blockEcho(input: Uint8Array): () => Uint8Array {
  let out = new Uint8Array(0);
  const mem: { bytes?: Uint8Array } = {};
  const instance = new WebAssembly.Instance(new WebAssembly.Module(blockModule() as BufferSource), {
    bench: {
      input_length: () => input.length,
      read_input: (dst: number) => mem.bytes!.set(input, dst),
      write_output: (src: number, n: number) => {
        out = mem.bytes!.slice(src, src + n);
      },
    },
  });
  mem.bytes = new Uint8Array((instance.exports.memory as WebAssembly.Memory).buffer);
  const echo = instance.exports.echo as () => number;
  return () => {
    echo();
    return out;
  };
}

/** The PDK-style echo on a DataView kernel (no Extism) for one input. */
function kernelEcho(input: Uint8Array): () => Uint8Array {
  const kernel = rawKernel(input);
  const instance = new WebAssembly.Instance(
    new WebAssembly.Module(echoModule() as BufferSource),
    kernel.imports,
  );
  const echo = instance.exports.echo as () => number;
  return () => {
    echo();
    return kernel.output();
  };
}

const report = new Reporter("payload");
const host = await hostSide();
// The same echo built with the AssemblyScript SDK, which copies input and output with the
// bulk-copy host functions of ABI 1.1 (docs/abi.md) in the host's main-thread mode.
const sdkEcho = await compileAssemblyScript(join(root, "sdk", "as", "test", "echo.ts"));
const hostBulk = await hostSide(sdkEcho);
// The same SDK echo in the sandbox alone (metered, no runtime, no RunRecord).
const sandboxBulk = await loadPlugin(sdkEcho, { mode: "main" });
const main = await extismSide(false);
const bulk = await extismBulkSide();
const mib = (bytes: number, us: number) => bytes / (1024 * 1024) / (us / 1e6);
try {
  for (const size of sizes) {
    // A JSON string of exactly size.bytes bytes (capability input and output must be JSON).
    const input = new Uint8Array(size.bytes);
    for (let i = 0; i < input.length; i++) input[i] = 0x61 + ((i * 31 + 7) % 26);
    input[0] = input[input.length - 1] = 0x22;
    const kernel = kernelEcho(input);
    const block = blockEcho(input);
    for (const f of [kernel, block]) {
      const out = f();
      if (out.length !== input.length || out[input.length - 1] !== input[input.length - 1]) {
        throw new Error("echo returned different bytes");
      }
    }
    const record = () => recordOnly(host, input);
    const sides = {
      host: async () => await host.call(input),
      hostBulk: async () => {
        const out = await hostBulk.call(input);
        if (out.length !== input.length) throw new Error("SDK echo returned different bytes");
        return out;
      },
      sandboxBulk: async () => {
        const result = await sandboxBulk.call("echo", input);
        if (!result.ok || result.output.length !== input.length) {
          throw new Error("sandbox echo failed");
        }
        return result.output;
      },
      main: async () => await extismCall(main, input),
      bulk: async () => await bulkCall(bulk, input),
      kernel,
      block,
    };
    const counts = {
      host: await calibrate(sides.host, sampleMs),
      hostBulk: await calibrate(sides.hostBulk, sampleMs),
      sandboxBulk: await calibrate(sides.sandboxBulk, sampleMs),
      main: await calibrate(sides.main, sampleMs),
      bulk: await calibrate(sides.bulk, sampleMs),
      kernel: await calibrate(kernel, sampleMs),
      block: await calibrate(block, sampleMs),
      record: await calibrate(record, sampleMs / 2),
    };
    await host.store.flush();
    await hostBulk.store.flush();
    // Host samples drain the writer after timing so its work does not leak into other sides.
    const us = await interleave(rounds, {
      host: async () => {
        const t = await usPer(counts.host, sides.host);
        await host.store.flush();
        return t;
      },
      hostBulk: async () => {
        const t = await usPer(counts.hostBulk, sides.hostBulk);
        await hostBulk.store.flush();
        return t;
      },
      sandboxBulk: () => usPer(counts.sandboxBulk, sides.sandboxBulk),
      main: () => usPer(counts.main, sides.main),
      bulk: () => usPer(counts.bulk, sides.bulk),
      kernel: () => usPer(counts.kernel, kernel),
      block: () => usPer(counts.block, block),
      record: async () => {
        const t = await usPer(counts.record, record);
        await host.store.flush();
        return t;
      },
    });
    const rate = (xs: number[]) => xs.map((x) => mib(size.bytes, x));
    report.figure(
      `payload.${size.id}.host`,
      `${size.label} host runtime.invoke`,
      "MiB/s",
      rate(us.host!),
      true,
    );
    report.figure(
      `payload.${size.id}.host_bulk`,
      `${size.label} host runtime.invoke, SDK echo (bulk ABI 1.1)`,
      "MiB/s",
      rate(us.hostBulk!),
      true,
    );
    report.figure(
      `payload.${size.id}.sandbox_bulk`,
      `${size.label} sandbox call alone, SDK echo (metered, no RunRecord)`,
      "MiB/s",
      rate(us.sandboxBulk!),
      true,
    );
    report.figure(
      `payload.${size.id}.host_bulk_vs_host`,
      `${size.label} ratio SDK bulk echo / PDK-style echo, both via host`,
      "x",
      ratios(us.host!, us.hostBulk!),
    );
    report.figure(
      `payload.${size.id}.main`,
      `${size.label} bare Extism main`,
      "MiB/s",
      rate(us.main!),
      true,
    );
    report.figure(
      `payload.${size.id}.bulk`,
      `${size.label} bare Extism + 2 bulk-copy host functions`,
      "MiB/s",
      rate(us.bulk!),
      true,
    );
    report.figure(
      `payload.${size.id}.bulk_vs_main`,
      `${size.label} ratio bulk / PDK-style bare Extism throughput`,
      "x",
      ratios(us.main!, us.bulk!),
    );
    report.figure(
      `payload.${size.id}.kernel`,
      `${size.label} same ABI, DataView kernel (no Extism)`,
      "MiB/s",
      rate(us.kernel!),
      true,
    );
    report.figure(
      `payload.${size.id}.block`,
      `${size.label} block copy (1 host call each way)`,
      "MiB/s",
      rate(us.block!),
      true,
    );
    report.figure(
      `payload.${size.id}.record_us`,
      `${size.label} RunRecord start + finish alone (enqueue)`,
      "us/call",
      us.record!,
    );
    report.figure(
      `payload.${size.id}.record_share`,
      `${size.label} share of the host call spent on them (per round)`,
      "x",
      ratios(us.record!, us.host!),
    );
    report.figure(
      `payload.${size.id}.host_vs_main`,
      `${size.label} ratio host / bare Extism throughput`,
      "x",
      ratios(us.main!, us.host!),
    );
    // 8 bytes per kernel call each way: n/8 input_load_u64 + n/8 store_u64.
    const calls = size.bytes / 4;
    report.figure(
      `payload.${size.id}.main_ns_per_kernel_call`,
      `${size.label} bare Extism: ns per 8-byte kernel call`,
      "ns",
      us.main!.map((x) => (x * 1000) / calls),
    );
    report.figure(
      `payload.${size.id}.kernel_ns_per_call`,
      `${size.label} DataView kernel: ns per 8-byte call`,
      "ns",
      us.kernel!.map((x) => (x * 1000) / calls),
    );
  }
  report.goal({
    id: "goal.payload",
    label:
      `issue 10: host payload path at least as fast as bare Extism JS (64 KiB echo, ${engine})`,
    figure: "payload.64k.host_vs_main",
    target: 1,
    kind: "min",
  });
  report.goal({
    id: "goal.payload.bulk",
    label: `3. 64 KiB echo through the host >= 300 MiB/s (SDK, bulk ABI, ${engine})`,
    figure: "payload.64k.host_bulk",
    target: 300,
    kind: "min",
  });
  report.note(
    "MiB/s = input bytes echoed per second of wall time (the bytes also travel back). " +
      "The PDK ABI moves 8 bytes per host call each way (n/4 calls for an n-byte echo).",
  );
} finally {
  await main.close();
  await bulk.close();
  await host.close();
  await hostBulk.close();
  await sandboxBulk.close();
}
report.done();
