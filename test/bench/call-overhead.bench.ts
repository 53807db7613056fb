/**
 * Call overhead of a 16-byte echo: the host's full in-process path
 * (runtime.invoke: verified plugin, capability host functions, fuel metering,
 * memory cap, a RunRecord and a run.finished event enqueued, not awaited as
 * durable) vs bare Extism on the main thread and in a worker vs a raw
 * WebAssembly export call; and the host's call to a plugin in worker mode
 * (one allowed an HTTP host) against its main-thread call (issue 15, goal 8). Sides interleave in every round; ratios are per round.
 * Run: node scripts/run-ts.mjs test/bench/call-overhead.bench.ts [--quick]
 * @module
 */
import { floorModule } from "./_echo.ts";
import { calibrate, extismCall, extismSide, hostSide, recordOnly, usPer } from "./_sides.ts";
import { interleave, quick, ratios, Reporter, runtimeName } from "./_stats.ts";

const rounds = quick ? 5 : 11;
const sampleMs = quick ? 40 : 50;
// 16 bytes that are a JSON document: capability inputs must be JSON since the core checks them.
const input = new TextEncoder().encode('"0123456789abcd"');

const report = new Reporter("call-overhead");
const host = await hostSide();
const main = await extismSide(false);
const worker = await extismSide(true);
const floor = new WebAssembly.Instance(new WebAssembly.Module(floorModule() as BufferSource));
const echo16 = floor.exports.echo16 as (src: number, dst: number) => void;
const memory = new Uint8Array((floor.exports.memory as WebAssembly.Memory).buffer);
try {
  memory.set(input, 0);
  const rawCall = () => echo16(0, 64);
  // The floor with the bytes copied in from and out to JavaScript, as any host must.
  const rawCopyCall = () => {
    memory.set(input, 0);
    echo16(0, 64);
    return memory.slice(64, 80);
  };
  const hostCall = () => host.call(input);
  const hostWorkerCall = () => host.callWorker(input);
  const mainCall = () => extismCall(main, input);
  const workerCall = () => extismCall(worker, input);
  const recordCall = () => recordOnly(host, input);
  const counts = {
    raw: await calibrate(rawCall, sampleMs),
    rawCopy: await calibrate(rawCopyCall, sampleMs),
    main: await calibrate(mainCall, sampleMs),
    worker: await calibrate(workerCall, sampleMs),
    host: await calibrate(hostCall, sampleMs),
    hostWorker: await calibrate(hostWorkerCall, sampleMs),
    record: await calibrate(recordCall, sampleMs / 2),
  };
  await host.store.flush();
  const samples = await interleave(rounds, {
    raw: () => usPer(counts.raw, rawCall),
    rawCopy: () => usPer(counts.rawCopy, rawCopyCall),
    main: () => usPer(counts.main, mainCall),
    worker: () => usPer(counts.worker, workerCall),
    // RunRecords are enqueued (not durable) inside the timing; the writer is drained
    // after it so its work does not land in the next side's timing.
    host: async () => {
      const us = await usPer(counts.host, hostCall);
      await host.store.flush();
      return us;
    },
    // The same host call to a plugin in worker mode (it may reach an allowed HTTP host).
    hostWorker: async () => {
      const us = await usPer(counts.hostWorker, hostWorkerCall);
      await host.store.flush();
      return us;
    },
    // The RunRecord start + finish alone (enqueued; the writer drained after the timing).
    record: async () => {
      const us = await usPer(counts.record, recordCall);
      await host.store.flush();
      return us;
    },
    // The same calls with the writer's work (batched commits) inside the timing.
    hostWritten: async () => {
      const t0 = performance.now();
      for (let i = 0; i < counts.host; i++) await hostCall();
      await host.store.flush();
      return ((performance.now() - t0) * 1000) / counts.host;
    },
  });
  report.figure(
    "call.raw.us",
    "raw WebAssembly export call (copies 16 B)",
    "us/call",
    samples.raw!,
  );
  report.figure(
    "call.raw_copy.us",
    "raw export + 16 B in from and out to JavaScript",
    "us/call",
    samples.rawCopy!,
  );
  report.figure("call.extism_main.us", "bare Extism, main thread", "us/call", samples.main!);
  report.figure("call.extism_worker.us", "bare Extism, worker", "us/call", samples.worker!);
  report.figure(
    "call.host.us",
    "host runtime.invoke (RunRecord enqueued)",
    "us/call",
    samples.host!,
  );
  report.figure(
    "call.host_worker.us",
    "host runtime.invoke, plugin in worker mode (HTTP allowed)",
    "us/call",
    samples.hostWorker!,
  );
  report.figure(
    "call.host_written.us",
    "host runtime.invoke, RunRecords committed in timing",
    "us/call",
    samples.hostWritten!,
  );
  report.figure(
    "call.record.us",
    "RunRecord start + finish alone (enqueue, no call)",
    "us/call",
    samples.record!,
  );
  report.figure(
    "call.record_share",
    "share of the host call spent on them (per round)",
    "x",
    ratios(samples.record!, samples.host!),
  );
  report.figure(
    "call.host_vs_main.ratio",
    "ratio host / bare Extism main (per round)",
    "x",
    ratios(samples.host!, samples.main!),
  );
  report.figure(
    "call.host_written_vs_main.ratio",
    "ratio host (committed) / bare Extism main (per round)",
    "x",
    ratios(samples.hostWritten!, samples.main!),
  );
  report.figure(
    "call.host_worker_vs_host.ratio",
    "ratio host worker mode / host main thread (per round)",
    "x",
    ratios(samples.hostWorker!, samples.host!),
  );
  report.figure(
    "call.worker_vs_main.ratio",
    "ratio bare Extism worker / main (per round)",
    "x",
    ratios(samples.worker!, samples.main!),
  );
  report.figure(
    "call.main_vs_raw.ratio",
    "ratio bare Extism main / raw export (per round)",
    "x",
    ratios(samples.main!, samples.raw!),
  );
  report.goal({
    id: "goal.call",
    label: `1. host call within 1.5x of bare Extism main thread (${runtimeName.split(" ")[0]})`,
    figure: "call.host_vs_main.ratio",
    target: 1.5,
    kind: "max",
  });
  report.goal({
    id: "goal.call.worker",
    label: `8. worker-mode host call within 3x of a main-thread host call (${
      runtimeName.split(" ")[0]
    })`,
    figure: "call.host_worker_vs_host.ratio",
    target: 3,
    kind: "max",
  });
  report.note(
    `calls per sample: raw ${counts.raw}, main ${counts.main}, worker ${counts.worker}, host ${counts.host}, host worker ${counts.hostWorker}; ${rounds} rounds`,
  );
} finally {
  await main.close();
  await worker.close();
  await host.close();
}
report.done();
