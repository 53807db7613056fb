/**
 * `host replay RUN_ID`: re-runs a recorded run through the one invoke
 * (trigger `replay`) and compares output digest, fuel and outcome
 * (docs/replay.md).
 * @module
 */
import { existsSync } from "node:fs";
import { resolvePaths } from "../config/paths.ts";
import type { ReplayReport } from "../core/replay.ts";
import { ExitCode, HostError, UsageError } from "../errors.ts";
import { createHost } from "../host.ts";
import { type Command, commonOptions, parseFlags } from "./command.ts";
import { readFileArg } from "./files.ts";

const usage = `Usage: host replay <run-id> [options]

Re-runs a recorded run with its recorded module, input, limits, determinism
mode, seed and host-call answers (the replay is itself a run: trigger replay,
parent the original) and compares output digest, fuel and outcome.

The module must be loaded: installed plugins are; a run of a plugin file
('host call FILE') needs --plugin FILE. Runs that cannot be replayed (input
larger than the store keeps, module not available, a secret read, a tape past
its cap) are refused with the reason.

Options:
  --plugin FILE   Also load this plugin file (not installed) to replay its run
  --db URL        Database (default: $PLUGHOST_DB, else file:<data dir>/host.db)
  --trust DIR     Trust store directory (default: $PLUGHOST_TRUST, else <data dir>/trust)
  --strict        A best-effort run that does not replay identically exits 2
  --json          Print the report as one JSON document

Exit codes: 0 replayed identically (or a best-effort difference without --strict),
1 a strict run replayed differently (or no such run), 2 a best-effort difference
with --strict, 65 the run cannot be replayed (the reason is printed).
`;

export const command: Command = {
  name: "replay",
  summary: "Re-run a recorded run and check it gives the same output and fuel",
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      ...commonOptions,
      plugin: { type: "string", multiple: true },
      db: { type: "string" },
      trust: { type: "string" },
      strict: { type: "boolean" },
    }, 1);
    const [runId] = positionals;
    if (runId === undefined) throw new UsageError("Missing <run-id>");
    const paths = resolvePaths(io.env, io.cwd, { db: values.db, trust: values.trust });
    if (values.db === undefined && (io.env.PLUGHOST_DB ?? "") === "" && !existsSync(paths.home)) {
      throw new HostError("not_found", `No data directory at ${paths.home}: no runs to replay`);
    }
    const host = await createHost({
      home: paths.home,
      paths: { trust: paths.trust, db: paths.db },
      cache: existsSync(paths.home),
    });
    try {
      for (const file of values.plugin ?? []) {
        await host.load(await readFileArg(file, io.cwd), file);
      }
      const report = await host.replay(runId);
      io.stdout(values.json ? JSON.stringify(report) + "\n" : describe(report));
      if (report.match) return ExitCode.ok;
      if (report.mode === "strict") return ExitCode.failed;
      io.stderr(
        `host replay: warning: best-effort run ${runId} did not replay identically (${
          report.differences.map((d) => d.field).join(", ")
        })\n`,
      );
      return values.strict ? ExitCode.strict : ExitCode.ok;
    } finally {
      await host.close();
    }
  },
};

function describe(report: ReplayReport): string {
  const head = `${
    report.match ? "identical" : "DIFFERENT"
  }  ${report.runId} -> ${report.replayRunId}  ${report.pluginId}/${
    report.capability ?? "-"
  } (${report.mode})\n`;
  const lines = report.differences.map((d) =>
    `  ${d.field}: original ${String(d.original)}, replay ${String(d.replay)}\n`
  );
  const same = report.match
    ? `  output ${report.replay.outputDigest ?? "(none)"}, fuel ${report.replay.fuel}\n`
    : "";
  return head + lines.join("") + same;
}
