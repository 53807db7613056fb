/**
 * Long-running `host` commands (serve, dev) in child processes for the author
 * tests: wait for a line, read what was printed, stop with SIGTERM.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { repoRoot, runCli } from "../helpers/cli.ts";

export interface Background {
  child: ChildProcess;
  output(): string;
  /** Resolves with the first match of `pattern` in stdout+stderr; rejects on exit or timeout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(): Promise<void>;
}

/** Starts `host ...args` (Node, this checkout) in `cwd`. */
export function startCli(args: string[], cwd: string): Background {
  const child = spawn(process.execPath, [join(repoRoot, "bin", "host.mjs"), ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  let exited = false;
  child.stdout!.setEncoding("utf8").on("data", (c: string) => (text += c));
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (text += c));
  const closed = new Promise<void>((resolve) =>
    child.on("close", () => {
      exited = true;
      resolve();
    })
  );
  return {
    child,
    output: () => text,
    async waitFor(pattern, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = text.match(pattern);
        if (match) return match;
        if (exited) throw new Error(`host ${args[0]} exited before ${pattern}:\n${text}`);
        if (Date.now() > deadline) throw new Error(`no ${pattern} from host ${args[0]}:\n${text}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      if (!exited) child.kill("SIGTERM");
      await closed;
    },
  };
}

/** An admin token for the server whose data directory is `home`. */
export async function adminToken(home: string): Promise<string> {
  const made = await runCli(["tokens", "create", "--scope", "admin", "--home", home, "--json"]);
  if (made.code !== 0) throw new Error(made.stderr);
  return (JSON.parse(made.stdout) as { token: string }).token;
}

/** `host serve` on a free loopback port, trusting `trust`; resolves once it listens. */
export async function startServer(
  home: string,
  trust: string,
  cwd: string,
): Promise<{ server: Background; url: string }> {
  const server = startCli(
    ["serve", "--home", home, "--trust", trust, "--port", "0", "--host", "127.0.0.1", "--json"],
    cwd,
  );
  const [, url] = await server.waitFor(/"url":"(http:[^"]+)"/);
  return { server, url: url! };
}
