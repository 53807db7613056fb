/**
 * Runs the real `host` CLI in a child process (Node through bin/host.mjs, or Deno
 * through host/cli/bin.ts), for end-to-end tests.
 * @module
 */
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export { conformanceDir } from "./conformance.ts";
export const builtPlugin = (name: string) => join(repoRoot, "build", "plugins", `${name}.wasm`);

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  runtime?: "node" | "deno";
  cwd?: string;
  env?: Record<string, string>;
  stdin?: string | Uint8Array;
  timeoutMs?: number;
}

/** Runs `host ...args` and collects its output. */
export function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  const runtime = options.runtime ?? "node";
  const [cmd, cmdArgs] = runtime === "node"
    ? [process.execPath, [join(repoRoot, "bin", "host.mjs"), ...args]]
    : [
      join(repoRoot, "node_modules", ".bin", "deno"),
      [
        "run",
        "--allow-all",
        "--quiet",
        `--config=${join(repoRoot, "deno.json")}`,
        join(repoRoot, "host", "cli", "bin.ts"),
        ...args,
      ],
    ];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, cmdArgs as string[], {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, NO_COLOR: "1", ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? "");
  });
}
