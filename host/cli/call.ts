/**
 * `host call FILE NAME`: verify a plugin file, run one capability (or export)
 * in the sandbox and print its output (or, with --json, the result with its
 * usage and run id). With a database the run is recorded and KV state kept.
 * @module
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { capabilityProvider, defaultSecrets } from "../capabilities/mod.ts";
import { resolvePaths } from "../config/paths.ts";
import { ExitCode, HostError, UsageError } from "../errors.ts";
import { createRuntime } from "../runtime/mod.ts";
import { type CallResult, defaultPolicy, type Limits, loadPlugin } from "../sandbox/mod.ts";
import { openStore, type Store } from "../store/mod.ts";
import { checkPlugin, loadTrustStore, type TrustStore } from "../trust/mod.ts";
import { type CliIo, type Command, commonOptions, intFlag, parseFlags } from "./command.ts";
import { readFileArg } from "./files.ts";

const usage = `Usage: host call <file.wasm> <capability|export> [options]

Verifies a plugin file against the trust store, calls one of its capabilities
(or any export) in the sandbox and prints the output to stdout.

Options:
  --input TEXT       Input passed to the call (default: empty)
  --input-file PATH  Read the input from a file ('-' for stdin)
  --fuel N           CPU budget for the call, in fuel units (~1 per WebAssembly operation;
                     default 1000000000)
  --memory-mb N      Memory cap for the plugin, in MiB (default 64; a smaller request in its
                     manifest wins)
  --timeout-ms N     Wall-clock limit for the call (default 10000)
  --db URL           Record the run and keep KV state in this database (file:PATH or
                     libsql://...; also PLUGHOST_DB). Default: a scratch database, removed after the call
  --trust PATH       Trust store directory (default: $PLUGHOST_TRUST or $PLUGHOST_HOME/trust,
                     PLUGHOST_HOME defaulting to ./.plughost)
  --allow-unsigned   Dev only: run a plugin that is unsigned, has no manifest, or is signed by
                     an unknown or expired key (never a tampered file or a revoked key); warns
  --wasi             Give a module without a manifest WASI (a manifest grants it with
                     permissions.wasi)
  --json             Print {"ok":true,"output":...,"usage":{...},"runId":...} or
                     {"ok":false,"error":{"class","message"},"usage":{...},"runId":...}

Exit codes: 0 the call succeeded; 1 it failed or the plugin does not verify (the error
class or the reason says why, see docs/sandbox.md and docs/signing.md); 64 usage; 65 the
file is missing or not WebAssembly.
`;

const options = {
  ...commonOptions,
  input: { type: "string" },
  "input-file": { type: "string" },
  fuel: { type: "string" },
  "memory-mb": { type: "string" },
  "timeout-ms": { type: "string" },
  db: { type: "string" },
  trust: { type: "string" },
  "allow-unsigned": { type: "boolean" },
  wasi: { type: "boolean" },
} as const;

export const command: Command = {
  name: "call",
  summary: "Verify a plugin file, call a capability or export and print its output",
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, options, 2);
    const [file, name] = positionals;
    if (file === undefined || name === undefined) {
      throw new UsageError("Missing <file.wasm> or <capability|export>");
    }
    if (values.input !== undefined && values["input-file"] !== undefined) {
      throw new UsageError("Give either --input or --input-file, not both");
    }
    const fuel = intFlag("fuel", values.fuel);
    const memoryMb = intFlag("memory-mb", values["memory-mb"]);
    const timeoutMs = intFlag("timeout-ms", values["timeout-ms"]);
    const callLimits: Partial<Limits> = {};
    if (fuel !== undefined) callLimits.fuel = BigInt(fuel);
    if (timeoutMs !== undefined) callLimits.timeoutMs = timeoutMs;
    const memoryPages = memoryMb === undefined ? undefined : memoryMb * 16;

    const input = values["input-file"] !== undefined
      ? await readFileArg(values["input-file"], io.cwd)
      : new TextEncoder().encode(values.input ?? "");
    const wasm = await readFileArg(file, io.cwd);
    const paths = resolvePaths(io.env, io.cwd, { db: values.db, trust: values.trust });
    const recorded = values.db !== undefined || (io.env.PLUGHOST_DB ?? "") !== "";
    const allowUnsigned = values["allow-unsigned"] ?? false;
    const trust = await loadTrustStore(paths.trust);

    const report = await checkPlugin(wasm, trust, { allowUnsigned });
    if (!report.ok && !(allowUnsigned && report.reason === "no_manifest")) {
      throw new HostError("verification_failed", `${file}: ${report.reason}: ${report.message}`);
    }
    for (const warning of report.warnings) io.stderr(`host call: warning: ${warning}\n`);
    if (values.wasi && report.manifest && !report.manifest.permissions?.wasi) {
      throw new UsageError(
        "--wasi applies to modules without a manifest; this plugin's manifest does not grant WASI (permissions.wasi)",
      );
    }

    // Without a database the call still gets a real store (KV, events) in a
    // scratch file that is removed afterwards: nothing is kept.
    const scratch = recorded ? undefined : await mkdtemp(join(tmpdir(), "plughost-call-"));
    const store = await openStore({ url: scratch ? `file:${join(scratch, "host.db")}` : paths.db });
    try {
      const result = report.manifest
        ? await callVerified(store, trust, wasm, file, name, input, {
          allowUnsigned,
          // Reuse instrumented modules across calls, inside an existing data directory only.
          cacheDir: existsSync(paths.home) ? paths.cache : undefined,
          callLimits,
          memoryPages,
          env: io.env,
        })
        : await callBareModule(store, wasm, file, name, input, {
          wasi: values.wasi ?? false,
          callLimits,
          memoryPages,
          digest: report.moduleDigest ?? "",
        });
      if (!recorded) delete result.runId;
      return print(result, values.json ?? false, io);
    } finally {
      await store.close();
      if (scratch) await rm(scratch, { recursive: true, force: true });
    }
  },
};

/** A call's result, with its run id when the run was recorded. */
type Outcome = CallResult & { runId?: string };

interface CallSettings {
  callLimits: Partial<Limits>;
  memoryPages: number | undefined;
}

/** A verified plugin: the runtime path every other trigger takes too. */
async function callVerified(
  store: Store,
  trust: TrustStore,
  wasm: Uint8Array,
  file: string,
  name: string,
  input: Uint8Array,
  settings: CallSettings & {
    allowUnsigned: boolean;
    cacheDir: string | undefined;
    env: CliIo["env"];
  },
): Promise<Outcome> {
  const memory = settings.memoryPages;
  const runtime = createRuntime({
    store,
    trust,
    allowUnsigned: settings.allowUnsigned,
    ...(settings.cacheDir === undefined ? {} : { cacheDir: settings.cacheDir }),
    hostFunctions: capabilityProvider({ secrets: defaultSecrets() }),
    ...(memory === undefined ? {} : {
      defaults: { memoryPages: memory },
      policy: { ...defaultPolicy, memoryPages: memory },
    }),
  });
  try {
    const info = await runtime.load(wasm, file);
    return await runtime.invoke({
      pluginId: info.id,
      capability: name,
      input,
      trigger: "cli",
      limits: settings.callLimits,
      allowExport: true,
      durable: true,
    });
  } catch (error) {
    if (error instanceof HostError && error.code === "load_error") return loadFailure(error);
    throw error;
  } finally {
    await runtime.close();
  }
}

/** A module with no manifest (dev only): no host functions beyond Extism's kernel. */
async function callBareModule(
  store: Store,
  wasm: Uint8Array,
  file: string,
  name: string,
  input: Uint8Array,
  settings: CallSettings & { wasi: boolean; digest: string },
): Promise<Outcome> {
  let plugin;
  try {
    plugin = await loadPlugin(wasm, {
      wasi: settings.wasi,
      ...(settings.memoryPages === undefined
        ? {}
        : { limits: { memoryPages: settings.memoryPages } }),
    });
  } catch (error) {
    if (error instanceof HostError) return loadFailure(error);
    throw error;
  }
  const pluginId = `unsigned:${basename(file)}`;
  const run = await store.runs.start({
    pluginId,
    moduleDigest: settings.digest.startsWith("sha256:")
      ? settings.digest
      : `sha256:${settings.digest}`,
    export: name,
    trigger: "cli",
    input: input as Uint8Array<ArrayBuffer>,
    limits: { memoryPages: plugin.limits.memoryPages, timeoutMs: plugin.limits.timeoutMs },
  });
  try {
    const result = await plugin.call(
      name,
      input,
      { runId: run.id, pluginId, capability: name },
      settings.callLimits,
    );
    const usage = { ...result.usage, durationMs: Math.round(result.usage.durationMs) };
    await store.runs.finish(
      run.id,
      result.ok ? { status: "ok", output: result.output as Uint8Array<ArrayBuffer>, usage } : {
        status: "error",
        errorClass: result.error.class,
        errorMessage: result.error.message,
        usage,
      },
    );
    return { ...result, runId: run.id };
  } finally {
    await plugin.close();
  }
}

function loadFailure(error: HostError): Outcome {
  return {
    ok: false,
    error: { class: error.code, message: error.message },
    usage: { fuel: 0, memoryPages: 0, durationMs: 0 },
  };
}

function print(
  result: Outcome,
  json: boolean,
  io: CliIo,
): number {
  const usage = { ...result.usage, durationMs: Math.round(result.usage.durationMs * 1000) / 1000 };
  const runId = result.runId === undefined ? {} : { runId: result.runId };
  if (result.ok) {
    if (json) {
      io.stdout(
        JSON.stringify({ ok: true, output: jsonOrText(result.output), usage, ...runId }) + "\n",
      );
    } else {
      io.stdout(new TextDecoder().decode(result.output));
      if (result.output.length > 0 && result.output[result.output.length - 1] !== 10) {
        io.stdout("\n");
      }
    }
    return ExitCode.ok;
  }
  const error = "error" in result && result.error
    ? result.error
    : { class: "host_error" as const, message: "no result" };
  if (json) {
    io.stdout(
      JSON.stringify({
        ok: false,
        error: { class: error.class, message: error.message },
        usage,
        ...runId,
      }) + "\n",
    );
  } else {
    io.stderr(`host call: ${error.class}: ${error.message.split("\n")[0]}\n`);
  }
  return new HostError(error.class, error.message).exitCode;
}

/** For --json: embed JSON output as JSON, anything else as a string. */
function jsonOrText(bytes: Uint8Array): unknown {
  const text = new TextDecoder().decode(bytes);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
