/**
 * `host runs`: list RunRecords, or show one with `host runs show RUN_ID`.
 * @module
 */
import { runWithDeterminism } from "../core/run-view.ts";
import { ExitCode, HostError, UsageError } from "../errors.ts";
import { openExistingStore, type RunRecord, RunStatus } from "../store/mod.ts";
import { resolveDbUrl } from "../store/url.ts";
import { type Command, commonOptions, intFlag, parseFlags } from "./command.ts";

const usage = `Usage: host runs [options]
       host runs show <run-id> [--json]

Lists recorded plugin runs, newest first, or shows one run in full.

\`show\` includes the run's determinism: its mode (strict or best-effort), seed,
entropy sources and whether its record can be replayed (docs/replay.md).

Options:
  --plugin ID    Only runs of this plugin
  --status S     Only runs with this status: running, ok, error, interrupted
  --limit N      At most N runs (default 20, at most 1000)
  --db URL       Database (default: $PLUGHOST_DB, else file:<data dir>/host.db)
  --json         Print JSON (list: an array; show: one record)
`;

export const command: Command = {
  name: "runs",
  summary: "List recorded plugin runs, or show one (host runs show RUN_ID)",
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      ...commonOptions,
      plugin: { type: "string" },
      status: { type: "string" },
      limit: { type: "string" },
      db: { type: "string" },
    }, 2);
    const [sub, runId] = positionals;
    if (sub !== undefined && sub !== "show") throw new UsageError(`Unknown subcommand '${sub}'`);
    if (sub === "show" && runId === undefined) throw new UsageError("Missing <run-id>");
    const status = values.status === undefined ? undefined : RunStatus.safeParse(values.status);
    if (status !== undefined && !status.success) {
      throw new UsageError(
        `--status takes one of ${RunStatus.options.join(", ")}, got '${values.status}'`,
      );
    }
    const limit = intFlag("limit", values.limit) ?? 20;
    const url = resolveDbUrl(values.db, io.env, io.cwd);
    const store = await openExistingStore({ url, authToken: io.env.PLUGHOST_DB_TOKEN });
    try {
      if (runId !== undefined) {
        const record = store === undefined ? undefined : await runWithDeterminism(store, runId);
        if (record === undefined) {
          throw new HostError(
            "not_found",
            `No run '${runId}' in ${url}: list runs with 'host runs'`,
          );
        }
        io.stdout(values.json ? JSON.stringify(record) + "\n" : showRun(record));
        return ExitCode.ok;
      }
      const page = store === undefined
        ? { runs: [] }
        : await store.runs.list({ pluginId: values.plugin, status: status?.data, limit });
      if (values.json) io.stdout(JSON.stringify(page.runs) + "\n");
      else if (page.runs.length === 0) io.stdout(`No runs recorded in ${url}\n`);
      else io.stdout(table(page.runs));
      return ExitCode.ok;
    } finally {
      await store?.close();
    }
  },
};

function table(runs: RunRecord[]): string {
  const rows = runs.map((r) => [
    r.id,
    r.status === "error" ? `error:${r.error?.class}` : r.status,
    r.pluginId,
    r.export,
    r.trigger,
    r.usage.durationMs === null ? "-" : `${r.usage.durationMs}ms`,
    r.startedAt,
  ]);
  const header = ["RUN", "STATUS", "PLUGIN", "EXPORT", "TRIGGER", "DURATION", "STARTED"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  return [header, ...rows]
    .map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd())
    .join("\n") + "\n";
}

function showRun(r: RunRecord): string {
  const lines: [string, string | number | null][] = [
    ["run", r.id],
    ["status", r.status],
    ["error", r.error === null ? null : `${r.error.class}: ${r.error.message}`],
    ["plugin", `${r.pluginId}${r.pluginVersion === null ? "" : "@" + r.pluginVersion}`],
    ["module", r.moduleDigest],
    ["capability", r.capability],
    ["export", r.export],
    ["trigger", r.trigger],
    ["parent run", r.parentRunId],
    ["correlation", r.correlationId],
    [
      "input",
      `${r.inputSize} bytes, ${r.inputDigest}${r.input === null ? " (not kept: too large)" : ""}`,
    ],
    ["output", r.outputDigest === null ? null : `${r.outputSize} bytes, ${r.outputDigest}`],
    ["config", r.configFingerprint],
    ...determinismLines(r.determinism),
    ["limits", JSON.stringify(r.limits)],
    ["fuel", r.usage.fuel],
    ["memory pages", r.usage.memoryPages],
    ["duration", r.usage.durationMs === null ? null : `${r.usage.durationMs} ms`],
    ["started", r.startedAt],
    ["ended", r.endedAt],
    ["host", `${r.host.name} pid ${r.host.pid}`],
  ];
  return lines.filter(([, v]) => v !== null).map(([k, v]) => `${(k + ":").padEnd(14)}${v}`)
    .join("\n") + "\n";
}

/** The run's determinism (docs/replay.md); "none recorded" without a replay record. */
function determinismLines(d: RunRecord["determinism"]): [string, string | null][] {
  if (d === undefined) return [];
  if (d === null) return [["determinism", "none recorded (still running, or no replay record)"]];
  return [
    ["determinism", d.mode],
    ["seed", d.seed],
    ["entropy", d.entropy.length === 0 ? "none" : d.entropy.join(", ")],
    ["replay", d.unreplayable === null ? "record complete" : `not replayable: ${d.unreplayable}`],
  ];
}
