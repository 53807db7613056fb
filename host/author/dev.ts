/**
 * `host dev`: watch a project's sources, and on every change rebuild,
 * re-sign and upload the plugin to a running server (POST /v1/plugins), which
 * replaces the loaded plugin without a restart.
 * @module
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { HostError } from "../errors.ts";
import { buildProject, type BuildResult } from "./build.ts";
import { type Project, readProject } from "./project.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** One thing the loop reports. */
export type DevEvent =
  | { kind: "built"; build: BuildResult }
  | { kind: "uploaded"; id: string; version: string; digest: string }
  | { kind: "error"; stage: "build" | "upload"; message: string };

/** Options of {@link devLoop}. */
export interface DevOptions {
  dir: string;
  cwd: string;
  env: Env;
  server: string;
  token?: string | undefined;
  /** How often to look for changes (ms). */
  intervalMs?: number;
  /** Ends the loop. */
  signal: AbortSignal;
  report(event: DevEvent): void;
}

/** Builds and uploads once, then again after every change, until `signal` aborts. */
export async function devLoop(options: DevOptions): Promise<void> {
  const interval = options.intervalMs ?? 250;
  let project = await readProject(options.dir, options.cwd);
  let seen = await newestChange(project);
  await cycle(options);
  while (!options.signal.aborted) {
    await sleep(interval, options.signal);
    if (options.signal.aborted) break;
    project = await readProject(options.dir, options.cwd).catch(() => project);
    const now = await newestChange(project);
    if (now === seen) continue;
    seen = now;
    await cycle(options);
  }
}

async function cycle(options: DevOptions): Promise<void> {
  let build: BuildResult;
  try {
    // Re-read: the manifest or build settings may be what changed.
    const project = await readProject(options.dir, options.cwd);
    build = await buildProject(project, { env: options.env });
  } catch (error) {
    options.report({ kind: "error", stage: "build", message: messageOf(error) });
    return;
  }
  options.report({ kind: "built", build });
  try {
    const uploaded = await upload(options.server, options.token, build);
    options.report({ kind: "uploaded", ...uploaded });
  } catch (error) {
    options.report({ kind: "error", stage: "upload", message: messageOf(error) });
  }
}

/** POSTs the signed plugin; `force` replaces the loaded one even at the same version. */
export async function upload(
  server: string,
  token: string | undefined,
  build: BuildResult,
): Promise<{ id: string; version: string; digest: string }> {
  const url = new URL("/v1/plugins?force=true", server);
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/wasm",
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: new Uint8Array(await readFile(build.out)),
  }).catch((error: unknown) => {
    throw new HostError("network_error", `Cannot reach ${server}: ${messageOf(error)}`);
  });
  const text = await response.text();
  if (!response.ok) {
    let detail = text;
    try {
      const problem = JSON.parse(text) as { detail?: string; title?: string };
      detail = problem.detail ?? problem.title ?? text;
    } catch { /* not problem+json: show the text */ }
    const hint = response.status === 422 && /key|sign|trust/i.test(detail)
      ? `\n  the server must trust ${build.publicKey} (key ${build.keyId}): start it with --trust ${build.publicKey}, or copy that file into its trust directory and restart it`
      : response.status === 401 || response.status === 403
      ? "\n  pass an admin token with --token (host tokens create --scope admin)"
      : "";
    throw new HostError(
      "network_error",
      `upload refused (HTTP ${response.status}): ${detail}${hint}`,
    );
  }
  const body = JSON.parse(text) as { id: string; version: string; digest: string };
  return { id: body.id, version: body.version, digest: body.digest };
}

/** A fingerprint of the watched files: the newest mtime and the file count. */
async function newestChange(project: Project): Promise<string> {
  const roots = [
    join(project.dir, "plugin.json"),
    join(project.dir, "build.json"),
    ...(project.settings.watch ?? [dirname(project.settings.source)]).map((p) =>
      resolve(project.dir, p)
    ),
  ];
  let newest = 0;
  let count = 0;
  const skip = new Set(["build", "keys", "node_modules", ".plughost", ".git"]);
  const visit = async (path: string): Promise<void> => {
    const info = await stat(path).catch(() => undefined);
    if (info === undefined) return;
    if (info.isDirectory()) {
      for (const name of await readdir(path).catch(() => [] as string[])) {
        if (!skip.has(name)) await visit(join(path, name));
      }
    } else {
      newest = Math.max(newest, info.mtimeMs);
      count++;
    }
  };
  for (const root of roots) await visit(root);
  return `${newest}:${count}`;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
