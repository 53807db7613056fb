/**
 * `host call FILE NAME`: verify a plugin file, run one capability (or export)
 * through the host's one invoke (trigger `cli`: the input is checked against
 * the capability's schema, the run recorded and counted as any other) and
 * print its output (or, with --json, the result with its usage and run id).
 * With a database the run is recorded and KV state kept.
 * @module
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolvePaths } from "../config/paths.ts";
import { ExitCode, exitCodeFor, HostError, UsageError } from "../errors.ts";
import { createHost, type Host } from "../host.ts";
import type { CallLimits, PluginInfo } from "../core/mod.ts";
import { type CallResult, defaultPolicy } from "../sandbox/mod.ts";
import { type CliIo, type Command, commonOptions, intFlag, parseFlags } from "./command.ts";
import { readFileArg } from "./files.ts";
import { baselineProcess } from "../adapter/baseline-wasm.ts";

const usage = `Usage: host call <file.wasm> <capability|export> [options]

Verifies a plugin file against the trust store, calls one of its capabilities
(or any export) in the sandbox and prints the output to stdout.

Options:
  --input TEXT       Input passed to the call: JSON for a capability, checked against its
                     input schema (default: empty, no input)
  --input-file PATH  Read the input from a file ('-' for stdin)
  --fuel N           CPU budget for the call, in fuel units (~1 per WebAssembly operation;
                     default 1000000000)
  --memory-mb N      Memory cap for the plugin, in MiB (default 64; a smaller request in its
                     manifest wins)
  --timeout-ms N     Wall-clock limit for the call (default 10000)
  --db URL           Record the run and keep KV state in this database (file:PATH or
                     libsql://...; also PLUGHOST_DB). Default: the data directory's database
                     ($PLUGHOST_HOME/host.db, where host runs and host events read) when the
                     data directory exists, else a scratch database removed after the call
  --scratch          Record nothing: use a scratch database, removed after the call
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
file is missing or not WebAssembly, or the input is not JSON or does not match the
capability's input schema (the message names each problem, as HTTP's 422 does).
`;

const options = {
  ...commonOptions,
  input: { type: "string" },
  "input-file": { type: "string" },
  fuel: { type: "string" },
  "memory-mb": { type: "string" },
  "timeout-ms": { type: "string" },
  db: { type: "string" },
  scratch: { type: "boolean" },
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
    const limits: CallLimits = {};
    if (fuel !== undefined) limits.fuel = BigInt(fuel);
    if (timeoutMs !== undefined) limits.timeoutMs = timeoutMs;
    // Memory is the plugin's, fixed when it loads: the flag caps it (a smaller manifest request wins).
    const memory = memoryMb === undefined ? undefined : memoryMb * 16;

    const input = values["input-file"] !== undefined
      ? await readFileArg(values["input-file"], io.cwd)
      : new TextEncoder().encode(values.input ?? "");
    const wasm = await readFileArg(file, io.cwd);
    const paths = resolvePaths(io.env, io.cwd, { db: values.db, trust: values.trust });
    if (values.scratch && values.db !== undefined) {
      throw new UsageError("Give either --db or --scratch, not both");
    }
    // Recorded where `host runs` reads: the data directory's database, when there is one.
    const recorded = !values.scratch &&
      (values.db !== undefined || (io.env.PLUGHOST_DB ?? "") !== "" || existsSync(paths.home));
    const wasi = values.wasi ?? false;

    // Without a database the call still gets a real store (KV, events) in a
    // scratch file that is removed afterwards: nothing is kept.
    const scratch = recorded ? undefined : await mkdtemp(join(tmpdir(), "plughost-call-"));
    // One module instrumented and one call: no tier-up (baseline-wasm.ts).
    baselineProcess();
    const host = await createHost({
      home: paths.home,
      paths: { trust: paths.trust, db: scratch ? `file:${join(scratch, "host.db")}` : paths.db },
      installed: false,
      allowUnsigned: values["allow-unsigned"] ?? false,
      // Reuse instrumented modules across calls, inside an existing data directory only.
      cache: existsSync(paths.home),
      // One plugin, once: starting the instrumenter's thread would cost more than it frees.
      instrumentThreads: false,
      ...(memory === undefined ? {} : {
        defaults: { memoryPages: memory },
        policy: { ...defaultPolicy, memoryPages: memory },
      }),
    });
    try {
      const plugin = await load(host, wasm, file, wasi);
      if (!plugin.ok) return print(plugin.failure, values.json ?? false, io);
      // A bare module's one warning (no manifest) is what --allow-unsigned asked for: kept quiet.
      if (!plugin.info.bare) {
        for (const warning of plugin.info.warnings) io.stderr(`host call: warning: ${warning}\n`);
      }
      // The one invoke every trigger takes: input schema, limits, RunRecord, metrics.
      const result: Outcome = await host.invoke({
        pluginId: plugin.info.id,
        capability: name,
        input,
        trigger: "cli",
        requireJson: true,
        limits,
        allowExport: true,
        durable: true,
      }).catch((error) => {
        // Refused before it became a run (bad input: 65): still one JSON answer under --json.
        if (!values.json || !(error instanceof HostError)) throw error;
        return failure(error);
      });
      if (!recorded) delete result.runId;
      return print(result, values.json ?? false, io);
    } finally {
      await host.close();
      if (scratch) await rm(scratch, { recursive: true, force: true });
    }
  },
};

/** A call's result, with its run id when the run was recorded. */
export type Outcome = CallResult & { runId?: string };

/** Verifies (once) and loads the file; a module that cannot run is a failed call (exit 1). */
async function load(
  host: Host,
  wasm: Uint8Array,
  file: string,
  wasi: boolean,
): Promise<{ ok: true; info: PluginInfo } | { ok: false; failure: Outcome }> {
  try {
    const info = await host.load(wasm, file, {
      bare: { wasi },
      accept(manifest) {
        if (wasi && !manifest.permissions?.wasi) {
          throw new UsageError(
            "--wasi applies to modules without a manifest; this plugin's manifest does not grant WASI (permissions.wasi)",
          );
        }
      },
    });
    return { ok: true, info };
  } catch (error) {
    if (error instanceof HostError && error.code === "verification_failed") {
      throw new HostError("verification_failed", `${file}: ${error.message}`);
    }
    if (error instanceof HostError && error.code === "load_error") {
      return { ok: false, failure: failure(error) };
    }
    throw error;
  }
}

/** A call that never ran, as a result. */
export function failure(error: HostError): Outcome {
  return {
    ok: false,
    error: { class: error.code, message: error.message },
    usage: { fuel: 0, memoryPages: 0, durationMs: 0 },
  };
}

/** Prints a call's output (or error) as `host call` does; `host run` shares it. */
export function print(
  result: Outcome,
  json: boolean,
  io: CliIo,
  command = "call",
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
    io.stderr(`host ${command}: ${error.class}: ${error.message.split("\n")[0]}\n`);
  }
  return exitCodeFor(error.class);
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
