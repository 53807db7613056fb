/**
 * `host keygen --out DIR/NAME`: make an ed25519 key pair (NAME.key, mode 0600,
 * and NAME.pub) and print its key id; optionally trust it in a trust store.
 * @module
 */
import { access } from "node:fs/promises";
import { resolve } from "node:path";
import { ExitCode, UsageError } from "../errors.ts";
import { createKeyFiles, readSigningKey, trustKey } from "../trust/mod.ts";
import { type Command, commonOptions, parseFlags } from "./command.ts";

const usage = `Usage: host keygen --out DIR/NAME [options]

Creates an ed25519 key pair: DIR/NAME.key (the private key, mode 0600; keep it
secret) and DIR/NAME.pub (the public key to hand to verifiers). Prints the key id.
An existing NAME.key is never overwritten.

Options:
  --out DIR/NAME    Where to write the key files (required)
  --label TEXT      Label stored with the key (default: NAME)
  --trust PATH      Also trust the public key in this trust store directory
  --expires TIME    With --trust: stop trusting the key at this ISO time (e.g. 2027-01-01T00:00:00Z)
  --if-missing      If NAME.key exists, reuse it instead of failing (still applies --trust)
  --json            Print {"keyId","privateKey","publicKey","trusted","created"}
`;

export const command: Command = {
  name: "keygen",
  summary: "Create an ed25519 signing key pair and print its key id",
  usage,
  async run(args, io) {
    const { values } = parseFlags(args, {
      ...commonOptions,
      out: { type: "string" },
      label: { type: "string" },
      trust: { type: "string" },
      expires: { type: "string" },
      "if-missing": { type: "boolean" },
    }, 0);
    if (values.out === undefined || values.out === "") {
      throw new UsageError("Missing --out DIR/NAME");
    }
    if (values.expires !== undefined && values.trust === undefined) {
      throw new UsageError("--expires applies to the trust entry; add --trust PATH");
    }
    if (values.expires !== undefined && Number.isNaN(Date.parse(values.expires))) {
      throw new UsageError(
        `--expires takes an ISO time like 2027-01-01T00:00:00Z, got '${values.expires}'`,
      );
    }
    const base = resolve(io.cwd, values.out.replace(/\.(key|pub)$/, ""));
    const label = values.label ?? base.split(/[\\/]/).pop();
    const keyPath = `${base}.key`;
    const exists = await access(keyPath).then(() => true, () => false);

    let keyId: string;
    let publicKey: Uint8Array;
    if (exists && values["if-missing"]) {
      ({ keyId, publicKey } = await readSigningKey(keyPath));
    } else {
      ({ keyId, publicKey } = await createKeyFiles(base, label));
    }
    const trusted = values.trust === undefined
      ? null
      : (await trustKey(resolve(io.cwd, values.trust), publicKey, {
        label,
        expires: values.expires === undefined ? undefined : new Date(values.expires).toISOString(),
      })).file;

    const created = !(exists && values["if-missing"]);
    if (values.json) {
      io.stdout(
        JSON.stringify({ keyId, privateKey: keyPath, publicKey: `${base}.pub`, trusted, created }) +
          "\n",
      );
    } else {
      io.stdout(`${keyId}\n`);
      io.stderr(
        `${created ? "created" : "kept existing"} key ${keyId}\n` +
          `  private key  ${keyPath}  (keep it secret)\n` +
          `  public key   ${base}.pub\n` +
          (trusted === null ? "" : `  trusted in   ${trusted}\n`),
      );
    }
    return ExitCode.ok;
  },
};
