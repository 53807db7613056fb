/**
 * Start-up of the single executable: its size, the first start (which
 * extracts the embedded files), and then the time to `--version`, to a first
 * plugin call and from starting `host serve` to ready, as median / min / max
 * over rounds. Prints figures; asserts nothing.
 * Run: node scripts/run-ts.mjs test/bench/startup.bench.ts [rounds]
 * @module
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { conformanceDir, repoRoot } from "../helpers/cli.ts";
import { buildExecutable, isolate, type Sandbox, start } from "../binary/executable.ts";

const rounds = Number(process.argv[2] ?? 15);
if (!Number.isInteger(rounds) || rounds < 1) {
  process.stderr.write("usage: startup.bench.ts [rounds: a positive integer]\n");
  process.exit(64);
}

/** Runs a command once and returns its wall time in ms; a failure stops the benchmark. */
function timed(cmd: string, args: string[], cwd: string, env: Record<string, string>): number {
  const start = performance.now();
  const child = spawnSync(cmd, args, { cwd, env, encoding: "utf8", timeout: 120_000 });
  const ms = performance.now() - start;
  if (child.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${child.status}): ${child.stderr}`);
  }
  return ms;
}

function summary(name: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const f = (ms: number) => ms.toFixed(0).padStart(6);
  return `${name.padEnd(44)} ${f(median)} ${f(sorted[0]!)} ${
    f(sorted.at(-1)!)
  }   (${samples.length})`;
}

/** CPU time (user + system, ms) a process has used so far, from /proc; null where there is none. */
function cpuMs(pid: number): number | null {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

function env(box: Sandbox, tmp = box.tmp): Record<string, string> {
  return { PATH: process.env["PATH"] ?? "/usr/bin:/bin", TMPDIR: tmp };
}

const built = buildExecutable();
const box = isolate(built.path);
const wasm = join(conformanceDir, "code.wasm");
// A raw conformance plugin has no manifest: `host call` runs it only in dev mode.
const callHelp = spawnSync(box.exe, ["call", "--help"], { encoding: "utf8", env: env(box) });
const unsigned = callHelp.stdout.includes("--allow-unsigned") ? ["--allow-unsigned"] : [];
const call = ["call", wasm, "count_vowels", "--input", "hello world", ...unsigned];
const lines: string[] = [];
try {
  // First start after install: an empty TMPDIR each round, so files are extracted.
  const cold = Array.from({ length: Math.min(rounds, 5) }, () => {
    const tmp = mkdtempSync(join(box.dir, "cold-"));
    try {
      return timed(box.exe, ["--version"], box.dir, env(box, tmp));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
  lines.push(summary("dist/host --version, first start (extracts)", cold));
  timed(box.exe, ["--version"], box.dir, env(box));
  const version = Array.from(
    { length: rounds },
    () => timed(box.exe, ["--version"], box.dir, env(box)),
  );
  lines.push(summary("dist/host --version", version));
  const calls = Array.from({ length: rounds }, () => timed(box.exe, call, box.dir, env(box)));
  lines.push(summary("dist/host call code.wasm count_vowels", calls));
  // Start to ready: spawn `host serve` (no plugins yet), until /readyz answers 200.
  const ready: number[] = [];
  const readyCpu: number[] = [];
  for (let i = 0; i < Math.min(rounds, 5); i++) {
    const home = mkdtempSync(join(box.dir, "home-"));
    const begin = performance.now();
    const server = await start(box, ["serve", "--port", "0", "--home", home]);
    while ((await fetch(`${server.url}/readyz`)).status !== 200) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    ready.push(performance.now() - begin);
    const cpu = cpuMs(server.pid);
    if (cpu !== null) readyCpu.push(cpu);
    await server.stop();
    rmSync(home, { recursive: true, force: true });
  }
  lines.push(summary("dist/host serve: start to /readyz 200", ready));
  if (readyCpu.length > 0) {
    lines.push(summary("  the same: server CPU time by then", readyCpu));
  }
  // The same with the example plugins (build/plugins/*.wasm, signed with the checkout's dev key,
  // trusted in .plughost/trust): /readyz answers 200 only once every plugin is loaded.
  const examples = mkdtempSync(join(box.dir, "examples-"));
  const names = readdirSync(join(repoRoot, "build", "plugins"))
    .filter((f) => f.endsWith(".wasm") && !f.endsWith(".raw.wasm"));
  for (const f of names) copyFileSync(join(repoRoot, "build", "plugins", f), join(examples, f));
  const trust = join(repoRoot, ".plughost", "trust");
  /** Starts serve with the example plugins on `home`; returns wall ms to /readyz 200 and CPU ms. */
  const serveExamples = async (home: string) => {
    const begin = performance.now();
    const server = await start(box, [
      "serve",
      "--port",
      "0",
      "--home",
      home,
      "--trust",
      trust,
      "--plugins",
      examples,
    ]);
    while ((await fetch(`${server.url}/readyz`)).status !== 200) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const wall = performance.now() - begin;
    const cpu = cpuMs(server.pid);
    const stopped = await server.stop();
    if (stopped.stderr.includes("skipped")) {
      throw new Error(`a plugin was skipped:\n${stopped.stderr}`);
    }
    return { wall, cpu };
  };
  // First start on a fresh data directory (empty compiled-module cache), then restarts of one
  // data directory (the cache written by the first start): what an operator sees after install.
  const fresh: { wall: number; cpu: number | null }[] = [];
  const warm: { wall: number; cpu: number | null }[] = [];
  for (let i = 0; i < Math.min(rounds, 5); i++) {
    const home = mkdtempSync(join(box.dir, "home-"));
    fresh.push(await serveExamples(home));
    warm.push(await serveExamples(home));
    warm.push(await serveExamples(home));
    rmSync(home, { recursive: true, force: true });
  }
  const n = names.length;
  const cpus = (s: { cpu: number | null }[]) => s.flatMap((x) => x.cpu === null ? [] : [x.cpu]);
  lines.push(summary(`dist/host serve, ${n} examples, fresh dir: ready`, fresh.map((x) => x.wall)));
  // Wall time on a shared machine counts other jobs' turns; the server's own CPU time does not.
  if (cpus(fresh).length > 0) {
    lines.push(summary("  the same: server CPU time by then", cpus(fresh)));
  }
  lines.push(summary(`dist/host serve, ${n} examples, restart: ready`, warm.map((x) => x.wall)));
  if (cpus(warm).length > 0) lines.push(summary("  the same: server CPU time by then", cpus(warm)));
  const launcher = join(repoRoot, "bin", "host.mjs");
  const dev = Array.from(
    { length: rounds },
    () => timed(process.execPath, [launcher, "--version"], repoRoot, env(box)),
  );
  lines.push(summary("reference: node bin/host.mjs --version", dev));
  // Node's own start on this machine at this moment: the floor under every figure above.
  const bare = Array.from(
    { length: rounds },
    () => timed(process.execPath, ["-e", "0"], repoRoot, env(box)),
  );
  lines.push(summary("reference: node -e 0", bare));
} finally {
  rmSync(box.dir, { recursive: true, force: true });
}

process.stdout.write(
  [
    `dist/host: ${
      (built.bytes / 1e6).toFixed(1)
    } MB (${built.bytes} bytes), sha256 ${built.sha256}`,
    `node ${process.version}, ${rounds} rounds, wall time in ms`,
    `${"".padEnd(44)} median    min    max`,
    ...lines,
  ].join("\n") + "\n",
);
