/**
 * `host call FILE EXPORT`: run one export of a plugin file in the sandbox and
 * print its output (or, with --json, the result with its usage).
 * @module
 */
import { ExitCode, HostError, UsageError } from "../errors.ts";
import { type CallResult, type Limits, loadPlugin, type SandboxOptions } from "../sandbox/mod.ts";
import { type CliIo, type Command, commonOptions, intFlag, parseFlags } from "./command.ts";
import { readFileArg } from "./files.ts";

const usage = `Usage: host call <file.wasm> <export> [options]

Calls an export of a plugin in the sandbox and prints its output to stdout.

Options:
  --input TEXT       Input passed to the export (default: empty)
  --input-file PATH  Read the input from a file ('-' for stdin)
  --fuel N           CPU budget for the call, in fuel units (~1 per WebAssembly operation;
                     default 1000000000)
  --memory-mb N      Memory cap for the plugin, in MiB (default 64)
  --timeout-ms N     Wall-clock limit for the call (default 10000)
  --wasi             Give the plugin WASI (clock, random; no files, no network)
  --json             Print {"ok":true,"output":...,"usage":{...}} or
                     {"ok":false,"error":{"class","message"},"usage":{"fuel","memoryPages","durationMs"}}

Exit codes: 0 the call succeeded; 1 it failed (the error class says why, see docs/sandbox.md).
`;

export const command: Command = {
  name: "call",
  summary: "Call an export of a plugin file and print its output",
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      ...commonOptions,
      input: { type: "string" },
      "input-file": { type: "string" },
      fuel: { type: "string" },
      "memory-mb": { type: "string" },
      "timeout-ms": { type: "string" },
      wasi: { type: "boolean" },
    }, 2);
    const [file, exportName] = positionals;
    if (file === undefined || exportName === undefined) {
      throw new UsageError("Missing <file.wasm> or <export>");
    }
    if (values.input !== undefined && values["input-file"] !== undefined) {
      throw new UsageError("Give either --input or --input-file, not both");
    }
    const limits: Partial<Limits> = {};
    const fuel = intFlag("fuel", values.fuel);
    if (fuel !== undefined) limits.fuel = BigInt(fuel);
    const memoryMb = intFlag("memory-mb", values["memory-mb"]);
    if (memoryMb !== undefined) limits.memoryPages = memoryMb * 16;
    const timeoutMs = intFlag("timeout-ms", values["timeout-ms"]);
    if (timeoutMs !== undefined) limits.timeoutMs = timeoutMs;

    const input = values["input-file"] !== undefined
      ? await readFileArg(values["input-file"], io.cwd)
      : new TextEncoder().encode(values.input ?? "");
    const wasm = await readFileArg(file, io.cwd);
    const result = await callOnce(wasm, exportName, input, { wasi: values.wasi ?? false, limits });
    return report(result, values.json ?? false, io);
  },
};

/** Loads the plugin, makes one call and closes it; a load failure becomes a failed result. */
async function callOnce(
  wasm: Uint8Array,
  exportName: string,
  input: Uint8Array,
  options: SandboxOptions,
): Promise<CallResult> {
  const started = performance.now();
  let plugin;
  try {
    plugin = await loadPlugin(wasm, options);
  } catch (error) {
    if (!(error instanceof HostError)) throw error;
    return {
      ok: false,
      error: { class: error.code, message: error.message },
      usage: { fuel: 0, memoryPages: 0, durationMs: performance.now() - started },
    };
  }
  try {
    return await plugin.call(exportName, input, { capability: exportName });
  } finally {
    await plugin.close();
  }
}

function report(result: CallResult, json: boolean, io: CliIo): number {
  const usage = { ...result.usage, durationMs: Math.round(result.usage.durationMs * 1000) / 1000 };
  if (result.ok) {
    if (json) {
      io.stdout(JSON.stringify({ ok: true, output: jsonOrText(result.output), usage }) + "\n");
    } else {
      io.stdout(new TextDecoder().decode(result.output));
      if (result.output.length > 0 && result.output[result.output.length - 1] !== 10) {
        io.stdout("\n");
      }
    }
    return ExitCode.ok;
  }
  const { class: code, message } = result.error;
  if (json) {
    io.stdout(JSON.stringify({ ok: false, error: { class: code, message }, usage }) + "\n");
  } else {
    io.stderr(`host call: ${code}: ${message.split("\n")[0]}\n`);
  }
  return new HostError(code, message).exitCode;
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
