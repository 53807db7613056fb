/**
 * Helpers for the single-executable smoke tests: build (or reuse) an executable
 * with scripts/build-binary.mjs, copy it into an empty directory, run it there.
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { z } from "zod";
import { repoRoot } from "../helpers/cli.ts";

const buildResult = z.object({
  path: z.string(),
  sha256: z.string(),
  bytes: z.number(),
  reused: z.boolean(),
  seconds: z.number(),
});

/** What scripts/build-binary.mjs --json reports. */
export type BuildResult = z.infer<typeof buildResult>;

/** Builds the executable (skipped by the script when its inputs are unchanged). */
export function buildExecutable(args: string[] = []): BuildResult {
  const child = spawnSync(
    process.execPath,
    [join(repoRoot, "scripts", "build-binary.mjs"), "--json", ...args],
    { cwd: repoRoot, encoding: "utf8", timeout: 300_000 },
  );
  if (child.status !== 0) {
    throw new Error(`build-binary.mjs failed (${child.status}):\n${child.stderr}`);
  }
  return buildResult.parse(JSON.parse(child.stdout));
}

/** An empty directory holding only a copy of the executable, with its own TMPDIR. */
export interface Sandbox {
  dir: string;
  exe: string;
  /** TMPDIR given to the executable, so its extracted files can be inspected. */
  tmp: string;
}

/** Copies `exe` into a fresh empty directory (no node_modules anywhere near it). */
export function isolate(exe: string, name = "host"): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), "plughost-binary-"));
  const tmp = join(dir, "tmp");
  mkdirSync(tmp);
  copyFileSync(exe, join(dir, name));
  return { dir, exe: join(dir, name), tmp };
}

/** The outcome of one run of the executable. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the isolated executable with `args` in its directory and collects its output. */
export function run(box: Sandbox, args: string[], timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(box.exe, args, {
      cwd: box.dir,
      // No NODE_OPTIONS or NODE_PATH from the test runner may leak into the binary.
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", TMPDIR: box.tmp, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-running command (e.g. `host serve`) started in the sandbox. */
export interface Started {
  /** The first http://127.0.0.1:PORT the command printed. */
  url: string;
  /** The process id (for /proc figures in benchmarks). */
  pid: number;
  /** Sends SIGTERM and resolves with the exit code and all output. */
  stop(): Promise<RunResult>;
}

/** Starts the isolated executable and waits until it prints a loopback URL. */
export function start(box: Sandbox, args: string[], timeoutMs = 60_000): Promise<Started> {
  const child = spawn(box.exe, args, {
    cwd: box.dir,
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", TMPDIR: box.tmp, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const exited = new Promise<RunResult>((resolve) =>
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`no URL printed within ${timeoutMs} ms:\n${stdout}${stderr}`));
    }, timeoutMs);
    const look = () => {
      const url = /http:\/\/127\.0\.0\.1:\d+/.exec(stdout + stderr)?.[0];
      if (url === undefined) return;
      clearTimeout(timer);
      resolve({
        url,
        pid: child.pid ?? 0,
        stop: () => {
          child.kill("SIGTERM");
          return exited;
        },
      });
    };
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => ((stdout += chunk), look()));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => ((stderr += chunk), look()));
    child.on("error", reject);
    void exited.then((result) => {
      clearTimeout(timer);
      reject(new Error(`exited (${result.code}) before printing a URL:\n${stdout}${stderr}`));
    });
  });
}
