/**
 * `host export`: writes a signed evidence bundle of the runs a selector picks
 * (docs/replay.md, "Evidence bundles"); `host verify FILE` checks it offline.
 * @module
 */
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { resolvePaths } from "../config/paths.ts";
import { type EvidenceSelector, exportEvidence } from "../core/evidence.ts";
import { ExitCode, HostError, UsageError } from "../errors.ts";
import { createHost } from "../host.ts";
import { hostSigningKey, loadTrustStore, readSigningKey } from "../trust/mod.ts";
import { type Command, commonOptions, parseFlags } from "./command.ts";
import { parseSince } from "./events.ts";

const usage = `Usage: host export --run ID -o FILE [options]
       host export --plugin ID --since T --until T -o FILE [options]
       host export --correlation ID -o FILE [options]

Writes one evidence bundle: the selected RunRecords, their events, replay
records (mode, seed, entropy, config snapshot, host-call tape), the manifests
and module digests of their plugins, their signers' public keys and a doctor
summary, signed with the host's key (<data dir>/keys/host.key, made on first
use; give verifiers keys/host.pub for their trust store). 'host verify FILE'
checks a bundle offline.

Options:
  --run ID           One run
  --plugin ID        The runs of a plugin that started in [--since, --until)
  --since T          ISO time or a duration ago (15m, 2h, 7d)
  --until T          ISO time or a duration ago (default: now)
  --correlation ID   The runs that share a correlation id
  -o, --out FILE     Where to write the bundle (required)
  --key PATH         Sign with this private key instead of the host's
  --db URL           Database (default: $PLUGHOST_DB, else file:<data dir>/host.db)
  --trust DIR        Trust store (signers' public keys come from it)
  --json             Print {"file","runs","keyId","bytes"}

Exit codes: 0 written; 1 no run matches; 64 usage; 65 the selector picks more
than 1000 runs; 91 storage.
`;

export const command: Command = {
  name: "export",
  summary: "Write a signed evidence bundle of runs (host verify checks it)",
  usage,
  async run(args, io) {
    const { values } = parseFlags(args, {
      ...commonOptions,
      run: { type: "string" },
      plugin: { type: "string" },
      since: { type: "string" },
      until: { type: "string" },
      correlation: { type: "string" },
      out: { type: "string", short: "o" },
      key: { type: "string" },
      db: { type: "string" },
      trust: { type: "string" },
    }, 0);
    const selector = selectorOf(values, Date.now());
    if (values.out === undefined) throw new UsageError("Missing -o FILE");
    const paths = resolvePaths(io.env, io.cwd, { db: values.db, trust: values.trust });
    if (values.db === undefined && (io.env.PLUGHOST_DB ?? "") === "" && !existsSync(paths.home)) {
      throw new HostError("not_found", `No data directory at ${paths.home}: no runs to export`);
    }
    const key = values.key === undefined
      ? (await hostSigningKey(paths.keys)).key
      : await readSigningKey(resolve(io.cwd, values.key));
    const host = await createHost({
      home: paths.home,
      paths: { trust: paths.trust, db: paths.db },
      cache: existsSync(paths.home),
    });
    try {
      const bytes = await exportEvidence(
        {
          store: host.store,
          trust: await loadTrustStore(paths.trust),
          get: (id) => host.get(id),
          pluginsDir: paths.plugins,
        },
        selector,
        key,
      );
      const file = resolve(io.cwd, values.out);
      await writeFile(file, bytes);
      const runs = (JSON.parse(new TextDecoder().decode(bytes).split("\n")[1]!) as {
        runs: unknown[];
      }).runs.length;
      io.stdout(
        values.json
          ? JSON.stringify({ file, runs, keyId: key.keyId, bytes: bytes.length }) + "\n"
          : `Wrote ${file}: ${runs} run(s), ${bytes.length} bytes, signed by ${key.keyId}\n`,
      );
      return ExitCode.ok;
    } finally {
      await host.close();
    }
  },
};

function selectorOf(
  values: { run?: string; plugin?: string; since?: string; until?: string; correlation?: string },
  now: number,
): EvidenceSelector {
  const given = [values.run, values.plugin, values.correlation].filter((v) => v !== undefined);
  if (given.length !== 1) {
    throw new UsageError("Give exactly one of --run, --plugin (with --since) or --correlation");
  }
  if (values.run !== undefined) return { run: values.run };
  if (values.correlation !== undefined) return { correlation: values.correlation };
  if (values.since === undefined) throw new UsageError("--plugin needs --since");
  const since = parseSince(values.since, now);
  const until = values.until === undefined ? now : parseSince(values.until, now);
  if (until <= since) throw new UsageError("--until must be later than --since");
  return { plugin: values.plugin!, since, until };
}
