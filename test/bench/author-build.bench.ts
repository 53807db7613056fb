/**
 * `host build` of a project fresh from `host new` (issue 20: an AssemblyScript build under 10 s on
 * this machine): wall and CPU time of the first build (makes the dev key), a rebuild, a --release
 * build, and the C and Rust templates where their compilers are installed. Each build is a whole
 * `host` process, as an author runs it. Prints median (min-max) over rounds; asserts nothing.
 * Run: node scripts/run-ts.mjs test/bench/author-build.bench.ts [rounds]
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { findClang, findRustc } from "../../host/author/toolchains.ts";
import { repoRoot } from "../helpers/cli.ts";

const rounds = Number(process.argv[2] ?? 5);
if (!Number.isInteger(rounds) || rounds < 1) {
  process.stderr.write("usage: author-build.bench.ts [rounds: a positive integer]\n");
  process.exit(64);
}
const env = process.env as Record<string, string>;
const timeBin = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;

/** Runs `host ...args` in `cwd`; returns wall and (with /usr/bin/time) CPU seconds. */
function host(args: string[], cwd: string): { wall: number; cpu: number | undefined } {
  const argv = [process.execPath, join(repoRoot, "bin", "host.mjs"), ...args];
  const [cmd, cmdArgs] = timeBin
    ? [timeBin, ["-f", "CPU %U %S", ...argv]]
    : [argv[0]!, argv.slice(1)];
  const start = performance.now();
  const child = spawnSync(cmd, cmdArgs, { cwd, encoding: "utf8", timeout: 300_000 });
  const wall = (performance.now() - start) / 1000;
  if (child.status !== 0) throw new Error(`host ${args.join(" ")} failed: ${child.stderr}`);
  const cpu = /CPU ([\d.]+) ([\d.]+)/.exec(child.stderr);
  return { wall, cpu: cpu ? Number(cpu[1]) + Number(cpu[2]) : undefined };
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return `${median.toFixed(1).padStart(6)} (${s[0]!.toFixed(1)}-${s.at(-1)!.toFixed(1)})`;
};

const langs = ["as"];
if (!("missing" in findClang(env))) langs.push("c");
if (!("missing" in await findRustc(env))) langs.push("rust");

const work = mkdtempSync(join(tmpdir(), "plughost-bench-build-"));
const rows: Record<string, { wall: number[]; cpu: number[] }> = {};
const add = (name: string, r: { wall: number; cpu: number | undefined }) => {
  rows[name] ??= { wall: [], cpu: [] };
  rows[name]!.wall.push(r.wall);
  if (r.cpu !== undefined) rows[name]!.cpu.push(r.cpu);
};
try {
  for (let round = 0; round < rounds; round++) {
    for (const lang of langs) {
      const name = `p${round}-${lang}`;
      host(["new", name, "--lang", lang], work);
      const dir = join(work, name);
      add(`${lang}: first build (new key)`, host(["build"], dir));
      add(`${lang}: rebuild`, host(["build"], dir));
      if (lang === "as") add("as: build --release", host(["build", "--release"], dir));
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.stdout.write(
  `host build of a new project, ${rounds} round(s), load ${loadavg()[0]!.toFixed(1)} on ${
    (await import("node:os")).availableParallelism()
  } cores; seconds, median (min-max)\n` +
    `${"".padEnd(28)} ${"wall".padEnd(18)} cpu\n` +
    Object.entries(rows).map(([name, r]) =>
      `${name.padEnd(28)} ${stats(r.wall).padEnd(18)} ${r.cpu.length ? stats(r.cpu) : "-"}\n`
    ).join(""),
);
