/**
 * `host sign FILE.wasm --key NAME.key [--manifest plugin.json] [--out OUT.wasm]`:
 * embed the manifest and add a signature.
 * @module
 */
import { rename, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { ExitCode, UsageError } from "../errors.ts";
import { readSigningKey, signPlugin } from "../trust/mod.ts";
import { type Command, commonOptions, parseFlags } from "./command.ts";
import { readFileArg } from "./files.ts";

const usage = `Usage: host sign <file.wasm> --key NAME.key [options]

Adds a signature to a plugin file. With --manifest, validates the manifest
against the module and embeds it first. Signing a signed file adds a
signature and keeps the others valid (unless the manifest changes).

Options:
  --key PATH         Private key made by 'host keygen' (required)
  --manifest PATH    Manifest JSON to embed (plugin.json)
  --out PATH         Write the signed plugin here (default: overwrite <file.wasm>)
  --json             Print {"file","pluginId","version","keyId","digest","signatures","warnings"}
`;

export const command: Command = {
  name: "sign",
  summary: "Embed a manifest in a plugin file and sign it",
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      ...commonOptions,
      key: { type: "string" },
      manifest: { type: "string" },
      out: { type: "string" },
    }, 1);
    const [file] = positionals;
    if (file === undefined) throw new UsageError("Missing <file.wasm>");
    if (values.key === undefined) throw new UsageError("Missing --key NAME.key");
    const wasm = await readFileArg(file, io.cwd);
    const key = await readSigningKey(resolve(io.cwd, values.key));
    const manifest = values.manifest === undefined
      ? undefined
      : await readFileArg(values.manifest, io.cwd);
    const result = await signPlugin(wasm, key, manifest === undefined ? {} : { manifest });

    const out = resolve(io.cwd, values.out ?? file);
    // Write beside the target, then rename: a crash never leaves half a plugin.
    const temp = `${out}.tmp-${crypto.randomUUID()}`;
    await writeFile(temp, result.wasm);
    await rename(temp, out);

    const signatures = [...result.kept, result.keyId];
    if (values.json) {
      io.stdout(
        JSON.stringify({
          file: out,
          pluginId: result.manifest.id,
          version: result.manifest.version,
          keyId: result.keyId,
          digest: result.digest,
          signatures,
          warnings: result.warnings,
        }) + "\n",
      );
    } else {
      for (const warning of result.warnings) io.stderr(`host sign: warning: ${warning}\n`);
      io.stdout(
        `signed ${out}\n  plugin     ${result.manifest.id} ${result.manifest.version}\n` +
          `  digest     sha256:${result.digest}\n  signed by  ${signatures.join(", ")}\n`,
      );
    }
    return ExitCode.ok;
  },
};
