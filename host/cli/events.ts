/**
 * `host events`: print events from the append-only log, optionally following
 * new ones; its delivery subcommands are in delivery.ts.
 * @module
 */
import process from "node:process";
import { ExitCode, UsageError } from "../errors.ts";
import {
  type Event,
  type EventQuery,
  openExistingStore,
  openStore,
  type Store,
} from "../store/mod.ts";
import { resolveDbUrl } from "../store/url.ts";
import { type Command, commonOptions, intFlag, parseFlags } from "./command.ts";
import { deliverySubcommands, runDelivery } from "./delivery.ts";

const usage = `Usage: host events [options]
       host events subscribers [--plugin ID] [--json]
       host events dead-letters [--plugin ID] [--state dead|pending|redelivered] [--limit N] [--json]
       host events redeliver DEAD_LETTER_ID [--json]

Prints the newest events (oldest first), optionally following new ones.
\`subscribers\` shows each onEvent subscriber's cursor, lag and counts;
\`dead-letters\` the events a subscriber failed on every attempt; \`redeliver\`
queues one for another attempt, made by a running host (docs/delivery.md).

Options:
  --type T       Only this type, or a prefix ending in .* (e.g. run.*)
  --plugin ID    Only events of this plugin
  --run RUN_ID   Only events of this run
  --since TIME   Only events since an ISO time (2026-01-31T12:00:00Z) or a duration ago (30s, 15m, 2h, 7d)
  --limit N      At most N events (default 50, at most 1000); dead letters: default 100
  --state S      Dead letters in this state: dead, pending or redelivered
  --follow, -f   Keep printing new events until interrupted (Ctrl-C)
  --db URL       Database (default: $PLUGHOST_DB, else file:<data dir>/host.db)
  --json         One JSON event per line
`;

export const command: Command = {
  name: "events",
  summary: "Print events from the append-only log (--follow to keep watching)",
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      ...commonOptions,
      type: { type: "string" },
      plugin: { type: "string" },
      run: { type: "string" },
      since: { type: "string" },
      limit: { type: "string" },
      follow: { type: "boolean", short: "f" },
      db: { type: "string" },
      state: { type: "string" },
    }, 2);
    const [sub, target] = positionals;
    if (sub !== undefined) {
      if (!(deliverySubcommands as readonly string[]).includes(sub)) {
        throw new UsageError(
          `Unknown subcommand '${sub}': use subscribers, dead-letters or redeliver (or no subcommand for the log)`,
        );
      }
      return await runDelivery(sub as (typeof deliverySubcommands)[number], target, {
        plugin: values.plugin,
        state: values.state,
        limit: intFlag("limit", values.limit),
        db: values.db,
        json: values.json,
      }, io);
    }
    if (values.state !== undefined) {
      throw new UsageError("--state is for 'host events dead-letters'");
    }
    const filter: EventQuery = {
      type: values.type,
      pluginId: values.plugin,
      runId: values.run,
      since: values.since === undefined ? undefined : parseSince(values.since, Date.now()),
    };
    const limit = intFlag("limit", values.limit) ?? 50;
    const url = resolveDbUrl(values.db, io.env, io.cwd);
    const write = (event: Event) =>
      io.stdout(values.json ? JSON.stringify(event) + "\n" : line(event));
    // Following a database that does not exist yet creates it, so the host can start later.
    const options = { url, authToken: io.env.PLUGHOST_DB_TOKEN };
    const store = values.follow ? await openStore(options) : await openExistingStore(options);
    if (store === undefined) {
      if (!values.json) io.stdout(`No events recorded in ${url}\n`);
      return ExitCode.ok;
    }
    try {
      const page = await store.events.query({ ...filter, limit, tail: true });
      for (const event of page.events) write(event);
      if (!values.follow) {
        if (page.events.length === 0 && !values.json) io.stdout("No matching events\n");
        return ExitCode.ok;
      }
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      try {
        await followEvents(
          store,
          { ...filter, after: page.cursor ?? undefined },
          stop.signal,
          write,
        );
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
      return ExitCode.ok;
    } finally {
      await store.close();
    }
  },
};

/** Polls for events after the filter's cursor and hands each to `write`, until aborted. */
export async function followEvents(
  store: Store,
  filter: EventQuery,
  signal: AbortSignal,
  write: (event: Event) => void,
  intervalMs = 500,
): Promise<void> {
  let after = filter.after;
  while (!signal.aborted) {
    const page = await store.events.query({ ...filter, after, limit: 1000 });
    for (const event of page.events) write(event);
    after = page.cursor ?? after;
    if (page.events.length < 1000) await sleep(intervalMs, signal);
  }
}

/** `--since`: an ISO time, or a duration ago (`30s`, `15m`, `2h`, `7d`), as ms since the epoch. */
export function parseSince(text: string, now: number): number {
  const ago = /^(\d+)([smhd])$/.exec(text);
  if (ago !== null) {
    const unit =
      { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[ago[2] as "s" | "m" | "h" | "d"];
    return now - Number(ago[1]) * unit;
  }
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) {
    throw new UsageError(
      `--since takes an ISO time (2026-01-31T12:00:00Z) or a duration like 15m, got '${text}'`,
    );
  }
  return ms;
}

function line(e: Event): string {
  const ids = [e.pluginId && `plugin=${e.pluginId}`, e.runId && `run=${e.runId}`]
    .filter(Boolean).join(" ");
  return `${e.ts} ${e.level.padEnd(5)} ${e.type} ${e.source}${ids ? " " + ids : ""} ${
    JSON.stringify(e.payload)
  }\n`;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
