/**
 * `host build`: compile a project (AssemblyScript, C or Rust) to a raw module,
 * embed its manifest and sign it with the project's dev key (made on first
 * build), then report size, exports and the permissions it asks for.
 * @module
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, dirname, join, relative, resolve } from "node:path";
import { moduleInfo } from "../artifact/mod.ts";
import { HostError } from "../errors.ts";
import type { Manifest } from "../manifest/mod.ts";
import { createKeyFiles, readSigningKey, signPlugin } from "../trust/mod.ts";
import type { Project } from "./project.ts";
import { checkoutRoot } from "./sdk-paths.ts";
import { findClang, findRustc, run } from "./toolchains.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** What a build made. */
export interface BuildResult {
  out: string;
  rawOut: string;
  bytes: number;
  exports: string[];
  permissions: Manifest["permissions"];
  keyId: string;
  /** The public key file a server must trust. */
  publicKey: string;
  keyCreated: boolean;
  digest: string;
  /** The compiler's warnings and notes (empty when it said nothing). */
  log: string;
  warnings: string[];
  durationMs: number;
}

/** Options of {@link buildProject}. */
export interface BuildOptions {
  env: Env;
  /** Optimize for size and speed (slower to build; AssemblyScript --optimize). */
  release?: boolean;
}

/** Compiles, embeds the manifest and signs. Throws HostError `plugin_error` when compiling fails. */
export async function buildProject(project: Project, options: BuildOptions): Promise<BuildResult> {
  const started = performance.now();
  await mkdir(dirname(project.rawOut), { recursive: true });
  const log = await compile(project, options);
  const raw = new Uint8Array(await readFile(project.rawOut));

  const keyPath = `${project.keyBase}.key`;
  const keyCreated = !existsSync(keyPath);
  if (keyCreated) await createKeyFiles(project.keyBase, `${project.manifest.id} dev key`);
  const key = await readSigningKey(keyPath);
  const signed = await signPlugin(raw, key, { manifest: project.manifestText });
  // Write beside the target, then rename: a watcher never sees half a plugin.
  const temp = `${project.out}.tmp-${crypto.randomUUID()}`;
  await writeFile(temp, signed.wasm);
  await rename(temp, project.out);

  const exports = moduleInfo(raw).exports.filter((e) => e.kind === "function").map((e) => e.name);
  return {
    out: project.out,
    rawOut: project.rawOut,
    bytes: signed.wasm.length,
    exports,
    permissions: signed.manifest.permissions,
    keyId: signed.keyId,
    publicKey: `${project.keyBase}.pub`,
    keyCreated,
    digest: signed.digest,
    log,
    warnings: signed.warnings,
    durationMs: performance.now() - started,
  };
}

async function compile(project: Project, options: BuildOptions): Promise<string> {
  switch (project.settings.lang) {
    case "as":
      return await compileAs(project, options.release ?? false);
    case "c":
      return await compileC(project, options.env);
    case "rust":
      return await compileRust(project, options.env);
  }
}

function failed(project: Project, what: string, log: string): HostError {
  return new HostError(
    "plugin_error",
    `Build of ${project.dir} failed: ${what}${log.trim() === "" ? "" : `\n${log.trimEnd()}`}`,
  );
}

/**
 * AssemblyScript, in-process. Imports of `@plughost/sdk-as` and
 * `@extism/as-pdk` resolve to the project's node_modules when it has them,
 * else to the SDK beside this host, so a new project builds with no install.
 */
async function compileAs(project: Project, release: boolean): Promise<string> {
  let asc: typeof import("assemblyscript/asc").default;
  try {
    asc = (await import("assemblyscript/asc")).default;
  } catch {
    throw new HostError(
      "not_found",
      "The AssemblyScript compiler is not installed beside this host: npm install assemblyscript",
    );
  }
  const fallback = packageFallbacks();
  let log = "";
  const sink = { write: (text: string) => void (log += text) };
  const { error } = await asc.main([
    project.settings.source,
    "--outFile",
    relative(project.dir, project.rawOut),
    // Without it the PDK imports env.abort, which Extism does not provide.
    "--use",
    "abort=~lib/@plughost/sdk-as/abort/plughostAbort",
    // Paths are the project's, wherever `host build DIR` runs from.
    "--baseDir",
    project.dir,
    ...(release ? ["--optimize"] : []),
    ...project.settings.flags,
  ], {
    stdout: sink,
    stderr: sink,
    readFile: async (name: string, baseDir: string) => {
      const path = resolve(project.dir, baseDir, name);
      const text = await readFile(path, "utf8").catch(() => null);
      if (text !== null) return text;
      const match = /^.*[\\/]node_modules[\\/](@[^\\/]+[\\/][^\\/]+|[^@\\/][^\\/]*)[\\/](.*)$/.exec(
        path,
      );
      const home = match ? fallback[(match[1] as string).replace(/\\/g, "/")] : undefined;
      return home === undefined ? null : await readFile(join(home, match![2] as string), "utf8")
        .catch(() => null);
    },
  });
  if (error) throw failed(project, error.message, log);
  return withoutInfo(log);
}

/** The compiler's output without its INFO notes (about the SDK's code, not the author's). */
function withoutInfo(log: string): string {
  return log.split(/\n(?=\S)/).filter((block) => !block.startsWith("INFO ")).join("\n").trim();
}

function packageFallbacks(): Record<string, string> {
  const root = checkoutRoot();
  const fallback: Record<string, string> = { "@plughost/sdk-as": join(root, "sdk", "as") };
  try {
    const require = createRequire(join(root, "package.json"));
    fallback["@extism/as-pdk"] = dirname(require.resolve("@extism/as-pdk/package.json"));
  } catch {
    // Not installed beside the host: the project must have it in its own node_modules.
  }
  return fallback;
}

async function compileC(project: Project, env: Env): Promise<string> {
  const found = findClang(env);
  if ("missing" in found) throw new HostError("not_found", `Cannot build C: ${found.missing}`);
  const source = resolve(project.dir, project.settings.source);
  const result = await run(found.clang, [
    "--target=wasm32-unknown-unknown",
    "-nostdlib",
    "-ffreestanding",
    "-O2",
    "-Wl,--no-entry",
    "-I",
    dirname(source),
    "-I",
    join(checkoutRoot(), "sdk", "c"),
    "-o",
    project.rawOut,
    source,
    ...project.settings.flags,
  ], { cwd: project.dir, env });
  if (result.status !== 0) throw failed(project, `clang exited ${result.status}`, result.stderr);
  return result.stderr;
}

async function compileRust(project: Project, env: Env): Promise<string> {
  const found = await findRustc(env);
  if ("missing" in found) throw new HostError("not_found", `Cannot build Rust: ${found.missing}`);
  const result = await run(found.rustc, [
    "--edition",
    "2021",
    "--crate-type",
    "cdylib",
    "--crate-name",
    basename(project.rawOut, ".raw.wasm").replace(/[^A-Za-z0-9_]/g, "_"),
    "--target",
    "wasm32-unknown-unknown",
    "-C",
    "opt-level=s",
    "-C",
    "panic=abort",
    // No debug sections, and a 64 KiB stack instead of 1 MiB so the module fits small memory caps.
    "-C",
    "link-arg=--strip-all",
    "-C",
    "link-arg=-zstack-size=65536",
    "-o",
    project.rawOut,
    resolve(project.dir, project.settings.source),
    ...project.settings.flags,
  ], { cwd: project.dir, env });
  if (result.status !== 0) throw failed(project, `rustc exited ${result.status}`, result.stderr);
  return result.stderr;
}

/** The lines `host build` prints for a result. */
export function formatBuild(result: BuildResult, cwd: string): string {
  const rel = (p: string) => relative(cwd, p) || p;
  const permissions = Object.entries(result.permissions ?? {}).map(([name, value]) =>
    `${name} ${JSON.stringify(value)}`
  );
  return [
    `built ${rel(result.out)} (${result.bytes} bytes) in ${
      (result.durationMs / 1000).toFixed(1)
    } s`,
    `  exports      ${result.exports.join(", ") || "(none)"}`,
    `  permissions  ${permissions.length === 0 ? "(none)" : permissions.join("\n               ")}`,
    `  signed by    ${result.keyId} (${rel(result.publicKey)}${
      result.keyCreated ? ", new dev key" : ""
    })`,
    `  digest       sha256:${result.digest}`,
  ].join("\n") + "\n";
}
