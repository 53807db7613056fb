// KV writes per key as one plugin's namespace grows to 1k, 10k and 100k keys (issue 13: writes
// stay O(1) per key), through the path plugin calls take (snapshot, then commit after the call):
// small commits (one batch) and large ones (staged in chunks that yield), plus the longest the
// event loop was held during the largest commit one call can make.
// Run: node scripts/run-ts.mjs test/bench/kv.bench.ts [--quick]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  type KvLimits,
  MAX_KV_WRITES_PER_CALL,
  openStore,
  type Store,
} from "../../host/store/mod.ts";
import { quick, Reporter } from "./_stats.ts";

const report = new Reporter("kv");
const levels = quick ? [1_000, 10_000, 30_000] : [1_000, 10_000, 100_000];
const rounds = quick ? 3 : 5;
const SMALL = 200; // writes per small commit (one batch)
const LARGE = 2_000; // writes per large commit (staged)
const limits: KvLimits = { quotaBytes: 1 << 30, maxKeys: 1_000_000 };
const dir = mkdtempSync(join(tmpdir(), "plughost-kv-bench-"));
const plugin = "bench.kv";
let next = 0;

/** One call's worth of new keys, committed as a plugin call commits them; returns ms. */
async function commitNew(store: Store, count: number): Promise<number> {
  const writes = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    writes.set(`key:${String(next++).padStart(8, "0")}`, "v".repeat(32));
  }
  const snapshot = await store.kv.snapshot(plugin);
  const t0 = performance.now();
  await store.kv.commit(plugin, snapshot, writes, limits);
  return performance.now() - t0;
}

/** The longest gap between 1 ms timer ticks while `work` runs, in ms. */
async function longestStall(work: () => Promise<unknown>): Promise<number> {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(longest, performance.now() - last);
}

try {
  const store = await openStore({ url: pathToFileURL(join(dir, "host.db")).href });
  const small: number[] = [];
  const large: number[] = [];
  for (const level of levels) {
    // Fill up to the level with large commits (not measured).
    while ((await store.kv.usage(plugin)).keys < level) {
      await commitNew(store, Math.min(5_000, level - (await store.kv.usage(plugin)).keys));
    }
    const smallUs: number[] = [];
    const largeUs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      smallUs.push((await commitNew(store, SMALL)) * 1000 / SMALL);
      largeUs.push((await commitNew(store, LARGE)) * 1000 / LARGE);
    }
    const label = level >= 1000 ? `${level / 1000}k` : String(level);
    small.push(
      report.figure(
        `kv.write.small.${label}.us`,
        `kv write per key, ${SMALL}-key commits, at ${label} keys`,
        "us",
        smallUs,
      ).median,
    );
    large.push(
      report.figure(
        `kv.write.large.${label}.us`,
        `kv write per key, ${LARGE}-key staged commits, at ${label} keys`,
        "us",
        largeUs,
      ).median,
    );
  }
  const first = levels[0]! / 1000;
  const last = levels[levels.length - 1]! / 1000;
  report.figure(
    "kv.write.flatness",
    `per-key cost at ${last}k / at ${first}k keys (small commits)`,
    "x",
    [small[small.length - 1]! / small[0]!],
  );
  report.figure(
    "kv.write.flatness.large",
    `per-key cost at ${last}k / at ${first}k keys (staged commits)`,
    "x",
    [large[large.length - 1]! / large[0]!],
  );
  report.goal({
    id: "goal.kv-flat",
    label: "issue 13: KV write cost per key flat up to 100k keys (ratio at most 2)",
    figure: "kv.write.flatness",
    target: 2,
    kind: "max",
  });
  const stalls: number[] = [];
  for (let r = 0; r < (quick ? 1 : 3); r++) {
    stalls.push(await longestStall(() => commitNew(store, MAX_KV_WRITES_PER_CALL)));
  }
  report.figure(
    "kv.commit.max.stall.ms",
    `longest event-loop stall, ${MAX_KV_WRITES_PER_CALL}-key commit (a call's most)`,
    "ms",
    stalls,
  );
  report.note(
    "Before kv_usage (issue 13): each write scanned the plugin's rows; 20,000 keys in one call " +
      "held the loop ~30 s and writes failed 503 past ~5,000 keys (fingerprint over 2^53).",
  );
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
report.done();
