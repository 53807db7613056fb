/**
 * `host schedules`: list, add, pause, resume and remove schedules in the
 * database. A running host (or any host sharing the database) picks changes
 * up at its next poll, within a few seconds.
 * @module
 */
import { resolvePaths } from "../config/paths.ts";
import { ExitCode, HostError, UsageError } from "../errors.ts";
import {
  addSchedule,
  installedManifest,
  parseDuration,
  type ScheduleView,
  scheduleView,
} from "../scheduler/mod.ts";
import { MissedPolicy, openExistingStore, type Schedule, type Store } from "../store/mod.ts";
import { type Command, commonOptions, parseFlags } from "./command.ts";

const usage = `Usage: host schedules [list] [--plugin ID] [--json]
       host schedules add --plugin ID --capability NAME (--cron EXPR | --every DURATION)
                          [--input JSON] [--timezone TZ] [--name NAME] [--missed POLICY]
       host schedules pause|resume|remove NAME

Manages the schedules that call plugin capabilities. Running hosts sharing the
database pick changes up within a few seconds.

Options:
  --plugin ID        The plugin (add: it must be installed; list: only its schedules)
  --capability NAME  The capability to call (it must exist in the plugin's manifest)
  --cron EXPR        Cron pattern, 5 fields or 6 with seconds first ('*/10 * * * * *')
  --every DURATION   Fixed interval instead: 30s, 5m, 1h30m, 1d (at least 1s)
  --input JSON       Input of every call (default {}), checked against the input schema
  --timezone TZ      IANA time zone of the cron pattern (default UTC)
  --name NAME        Schedule name (default <capability>-<random>); letters, digits . _ : -
  --missed POLICY    Occurrences missed while no host ran: skip (default) or catch-up-once
  --db URL           Database (default: $PLUGHOST_DB, else file:<data dir>/host.db)
  --plugins DIR      Installed plugins directory (default <data dir>/plugins)
  --json             Print JSON
`;

export const command: Command = {
  name: "schedules",
  summary: "List, add, pause, resume or remove schedules (host schedules add --cron ...)",
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      ...commonOptions,
      plugin: { type: "string" },
      capability: { type: "string" },
      cron: { type: "string" },
      every: { type: "string" },
      input: { type: "string" },
      timezone: { type: "string" },
      name: { type: "string" },
      missed: { type: "string" },
      db: { type: "string" },
      plugins: { type: "string" },
    }, 2);
    const [sub = "list", target] = positionals;
    const paths = resolvePaths(io.env, io.cwd, { db: values.db, plugins: values.plugins });
    const out = (text: string, value: unknown) =>
      io.stdout(values.json ? JSON.stringify(value) + "\n" : text);
    if (sub === "list") {
      if (target !== undefined) throw new UsageError(`Unexpected argument '${target}'`);
      const store = await openExistingStore({ url: paths.db });
      try {
        const list = store === undefined
          ? []
          : await store.schedules.list({ pluginId: values.plugin });
        const views = list.map((s) => scheduleView(s));
        out(views.length === 0 ? `No schedules in ${paths.db}\n` : table(views), views);
      } finally {
        await store?.close();
      }
      return ExitCode.ok;
    }
    if (!["add", "pause", "resume", "remove"].includes(sub)) {
      throw new UsageError(`Unknown subcommand '${sub}': use list, add, pause, resume or remove`);
    }
    if (sub !== "add" && target === undefined) throw new UsageError(`Missing the schedule NAME`);
    const store = await openExistingStore({ url: paths.db });
    if (store === undefined) {
      throw new HostError("not_found", `No database at ${paths.db}: install a plugin first`);
    }
    try {
      if (sub === "add") {
        if (target !== undefined) throw new UsageError(`Unexpected argument '${target}'`);
        const schedule = await add(store, paths.plugins, values);
        out(
          `Added schedule '${schedule.name}'; next run ${scheduleView(schedule).nextRun}\n`,
          scheduleView(schedule),
        );
        return ExitCode.ok;
      }
      const repo = store.schedules;
      const changed = sub === "remove"
        ? await repo.remove(target!)
        : await repo.setState(target!, sub === "pause" ? "paused" : "active");
      if (!changed) {
        throw new HostError(
          "not_found",
          `No schedule '${target}' in ${paths.db}: list them with 'host schedules'`,
        );
      }
      const verb = { pause: "Paused", resume: "Resumed", remove: "Removed" }[sub];
      if (changed.source === "manifest" && sub === "remove") {
        io.stderr(
          `warning: '${changed.name}' comes from the plugin's manifest; a host loading the plugin adds it again at its next start or upgrade (pause it to keep it off)\n`,
        );
      }
      out(`${verb} schedule '${changed.name}'\n`, scheduleView(changed));
      return ExitCode.ok;
    } finally {
      await store.close();
    }
  },
};

type Flags = Partial<
  Record<
    "plugin" | "capability" | "cron" | "every" | "input" | "timezone" | "name" | "missed",
    string
  >
>;

async function add(store: Store, pluginsDir: string, values: Flags): Promise<Schedule> {
  if (values.plugin === undefined) throw new UsageError("add needs --plugin ID");
  if (values.capability === undefined) throw new UsageError("add needs --capability NAME");
  if ((values.cron === undefined) === (values.every === undefined)) {
    throw new UsageError("add needs exactly one of --cron EXPR and --every DURATION");
  }
  let input: unknown = {};
  if (values.input !== undefined) {
    try {
      input = JSON.parse(values.input);
    } catch (error) {
      throw new HostError(
        "invalid_input",
        `--input is not valid JSON (${
          error instanceof Error ? error.message : error
        }): quote it, e.g. --input '{"name":"x"}'`,
      );
    }
  }
  const missed = MissedPolicy.safeParse(values.missed ?? "skip");
  if (!missed.success) {
    throw new UsageError(`--missed takes skip or catch-up-once, got '${values.missed}'`);
  }
  const manifest = await installedManifest(store, pluginsDir, values.plugin);
  return await addSchedule(store, manifest, {
    name: values.name ?? `${values.capability}-${crypto.randomUUID().slice(0, 8)}`,
    pluginId: values.plugin,
    capability: values.capability,
    ...(values.cron === undefined ? {} : { cron: values.cron }),
    ...(values.every === undefined ? {} : { intervalMs: parseDuration(values.every) }),
    ...(values.timezone === undefined ? {} : { timezone: values.timezone }),
    input,
    missed: missed.data,
  });
}

function table(views: ScheduleView[]): string {
  const rows = views.map((v) => [
    v.name,
    v.state,
    `${v.pluginId}/${v.capability}`,
    v.cron ?? `every ${v.every}`,
    v.timezone ?? "-",
    v.nextRun ?? "-",
    v.source,
  ]);
  const header = ["NAME", "STATE", "CAPABILITY", "WHEN", "TZ", "NEXT RUN", "SOURCE"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  return [header, ...rows]
    .map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd())
    .join("\n") + "\n";
}
