/**
 * CLI start-up (issue 15, goal 7): wall time of `host --version`, `host verify`
 * of one signed plugin and `host call` of hello with an empty module cache (a
 * fresh data directory each time, so the plugin is instrumented and compiled),
 * from source (`node bin/host.mjs`, the esbuild bundle) and from the single
 * executable (`dist/host`), interleaved per round with `node -e 0` (the floor:
 * Node's own start on this machine at that moment). Three references bound the
 * empty-cache call: importing binaryen alone (the package, and the copy the
 * instrumenter loads, which every empty-cache call pays) and the same call with the instrumented module
 * already in the data directory's cache (what every later call of an unchanged
 * plugin costs).
 * Run: node scripts/run-ts.mjs test/bench/cli.bench.ts [--quick]
 * @module
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import process from "node:process";
import { buildExecutable, isolate } from "../binary/executable.ts";
import { builtPlugin, repoRoot } from "../helpers/cli.ts";
import { interleave, quick, Reporter } from "./_stats.ts";

const rounds = quick ? 3 : 9;
const binaryenFolder = dirname(
  createRequire(join(repoRoot, "package.json")).resolve("binaryen/package.json"),
);
const liteUrl = JSON.stringify(pathToFileURL(join(binaryenFolder, "plughost-lite.mjs")).href);
const hello = builtPlugin("hello");
const trust = join(repoRoot, ".plughost", "trust");
const work = mkdtempSync(join(tmpdir(), "plughost-cli-bench-"));
const env = { PATH: process.env["PATH"] ?? "/usr/bin:/bin", TMPDIR: work };

/** Runs a command once and returns its wall time in ms; a failure stops the benchmark. */
function timed(cmd: string, args: string[], extraEnv: Record<string, string> = {}): number {
  const start = performance.now();
  const child = spawnSync(cmd, args, {
    cwd: repoRoot,
    env: { ...env, ...extraEnv },
    encoding: "utf8",
    timeout: 120_000,
  });
  const ms = performance.now() - start;
  if (child.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${child.status}): ${child.stderr}`);
  }
  return ms;
}

/** `host call` of hello on a fresh data directory: empty module cache, scratch database. */
function coldCall(cmd: string, prefix: string[]): number {
  const home = mkdtempSync(join(work, "home-"));
  try {
    cpSync(trust, join(home, "trust"), { recursive: true });
    return timed(cmd, [...prefix, "call", hello, "greet", "--input", '{"name":"bench"}'], {
      PLUGHOST_HOME: home,
    });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** A data directory whose module cache already holds hello, instrumented (one call made). */
function warmHome(cmd: string, prefix: string[], extraEnv: Record<string, string> = {}): string {
  const home = mkdtempSync(join(work, "warm-"));
  cpSync(trust, join(home, "trust"), { recursive: true });
  timed(cmd, [...prefix, "call", hello, "greet", "--input", '{"name":"bench"}'], {
    ...extraEnv,
    PLUGHOST_HOME: home,
  });
  return home;
}

const report = new Reporter("cli");
try {
  const built = buildExecutable();
  const box = isolate(built.path);
  const node = process.execPath;
  const launcher = [join(repoRoot, "bin", "host.mjs")];
  // Warm both paths once: the launcher rebuilds a stale bundle, the executable extracts itself.
  timed(node, [...launcher, "--version"]);
  timed(box.exe, ["--version"], { TMPDIR: box.tmp });
  const binEnv = { TMPDIR: box.tmp };
  const srcWarm = warmHome(node, launcher);
  const binWarm = warmHome(box.exe, [], binEnv);
  const warmCall = (cmd: string, prefix: string[], home: string, extraEnv = {}) =>
    timed(cmd, [...prefix, "call", hello, "greet", "--input", '{"name":"bench"}'], {
      ...extraEnv,
      PLUGHOST_HOME: home,
    });
  const ms = await interleave(rounds, {
    floor: () => timed(node, ["-e", "0"]),
    binaryen: () => timed(node, ["--input-type=module", "-e", 'await import("binaryen")']),
    // What the instrumenter imports (host/sandbox/instrument/binaryen.ts): the copy without the
    // embedded module's 14.7 MB literal (scripts/binaryen-lite.mjs).
    binaryenLite: () => timed(node, ["--input-type=module", "-e", `await import(${liteUrl})`]),
    srcVersion: () => timed(node, [...launcher, "--version"]),
    srcVerify: () => timed(node, [...launcher, "verify", hello, "--trust", trust]),
    srcCall: () => coldCall(node, launcher),
    srcWarmCall: () => warmCall(node, launcher, srcWarm),
    binVersion: () => timed(box.exe, ["--version"], binEnv),
    binVerify: () => timed(box.exe, ["verify", hello, "--trust", trust], binEnv),
    binCall: () => {
      const home = mkdtempSync(join(work, "home-"));
      try {
        cpSync(trust, join(home, "trust"), { recursive: true });
        return timed(box.exe, ["call", hello, "greet", "--input", '{"name":"bench"}'], {
          ...binEnv,
          PLUGHOST_HOME: home,
        });
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    },
    binWarmCall: () => warmCall(box.exe, [], binWarm, binEnv),
  });
  const figures: [keyof typeof ms, string, string][] = [
    ["floor", "cli.floor", "reference: node -e 0"],
    ["binaryen", "cli.binaryen", "reference: node importing binaryen (the package)"],
    ["binaryenLite", "cli.binaryen.lite", "reference: node importing binaryen as the host does"],
    ["srcVersion", "cli.src.version", "source: node bin/host.mjs --version"],
    ["srcVerify", "cli.src.verify", "source: host verify hello.wasm"],
    ["srcCall", "cli.src.call", "source: host call hello greet, empty cache"],
    ["srcWarmCall", "cli.src.call.warm", "source: host call hello greet, module cached"],
    ["binVersion", "cli.bin.version", "dist/host --version"],
    ["binVerify", "cli.bin.verify", "dist/host verify hello.wasm"],
    ["binCall", "cli.bin.call", "dist/host call hello greet, empty cache"],
    ["binWarmCall", "cli.bin.call.warm", "dist/host call hello greet, module cached"],
  ];
  for (const [side, id, label] of figures) report.figure(id, label, "ms", ms[side]!);
  const goals: [string, string, number][] = [
    ["cli.src.version", "7. host --version under 100 ms (source)", 100],
    ["cli.src.verify", "7. host verify of one plugin under 300 ms (source)", 300],
    ["cli.src.call", "7. host call of hello, empty cache, under 700 ms (source)", 700],
    ["cli.bin.version", "7. dist/host --version under 100 ms", 100],
    ["cli.bin.verify", "7. dist/host verify of one plugin under 300 ms", 300],
    ["cli.bin.call", "7. dist/host call of hello, empty cache, under 700 ms", 700],
  ];
  for (const [figure, label, target] of goals) {
    report.goal({ id: `goal.${figure}`, label, figure, target, kind: "max" });
  }
  report.note(
    `wall time per process in ms over ${rounds} interleaved rounds; node -e 0 is the floor ` +
      "under every figure (the machine's Node start-up at that moment)",
  );
  rmSync(box.dir, { recursive: true, force: true });
} finally {
  rmSync(work, { recursive: true, force: true });
}
report.done();
