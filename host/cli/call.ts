/**
 * `host call FILE EXPORT`: run one export of a plugin file and print its output.
 * @module
 */
import createPlugin from "@extism/extism";
import { ExitCode, HostError, UsageError } from "../errors.ts";
import { type Command, commonOptions, parseFlags } from "./command.ts";
import { readFileArg } from "./files.ts";

const usage = `Usage: host call <file.wasm> <export> [options]

Calls an export of a plugin and prints its output to stdout.

Options:
  --input TEXT       Input passed to the export (default: empty)
  --input-file PATH  Read the input from a file ('-' for stdin)
  --json             Print {"ok":true,"output":...} or {"ok":false,"error":{...}}
  --wasi             Give the plugin WASI (clock, random; no files, no network)
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
      wasi: { type: "boolean" },
    }, 2);
    const [file, exportName] = positionals;
    if (file === undefined || exportName === undefined) {
      throw new UsageError("Missing <file.wasm> or <export>");
    }
    if (values.input !== undefined && values["input-file"] !== undefined) {
      throw new UsageError("Give either --input or --input-file, not both");
    }
    const input = values["input-file"] !== undefined
      ? await readFileArg(values["input-file"], io.cwd)
      : new TextEncoder().encode(values.input ?? "");
    const wasm = await readFileArg(file, io.cwd);

    try {
      const output = await callOnce(wasm, exportName, input, values.wasi ?? false);
      if (values.json) {
        io.stdout(JSON.stringify({ ok: true, output: jsonOrText(output) }) + "\n");
      } else {
        io.stdout(new TextDecoder().decode(output));
        if (output.length > 0 && output[output.length - 1] !== 10) io.stdout("\n");
      }
      return ExitCode.ok;
    } catch (error) {
      const failure = error instanceof HostError
        ? error
        : new HostError("plugin_error", error instanceof Error ? error.message : String(error));
      if (values.json) {
        io.stdout(
          JSON.stringify({ ok: false, error: { class: failure.code, message: failure.message } }) +
            "\n",
        );
      } else {
        io.stderr(`host call: ${failure.code}: ${failure.message.split("\n")[0]}\n`);
      }
      return failure.exitCode;
    }
  },
};

async function callOnce(wasm: Uint8Array, exportName: string, input: Uint8Array, useWasi: boolean) {
  let plugin;
  try {
    plugin = await createPlugin({ wasm: [{ data: wasm }] }, { useWasi });
  } catch (error) {
    throw new HostError(
      "load_error",
      `Cannot load the plugin: ${error instanceof Error ? error.message : error}`,
    );
  }
  try {
    if (!(await plugin.functionExists(exportName))) {
      throw new HostError("load_error", `The plugin has no export named '${exportName}'`);
    }
    const out = await plugin.call(exportName, input);
    return out === null ? new Uint8Array() : out.bytes();
  } finally {
    await plugin.close();
  }
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
