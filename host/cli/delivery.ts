/**
 * `host events subscribers | dead-letters | redeliver ID`: event delivery as
 * the database records it (docs/delivery.md). Redelivery only queues: a
 * running host that delivers to the plugin picks it up at its next poll.
 * @module
 */
import { ExitCode, HostError, UsageError } from "../errors.ts";
import { type DeadLetter, type DeadLetterState, openExistingStore } from "../store/mod.ts";
import { resolveDbUrl } from "../store/url.ts";
import type { CliIo } from "./command.ts";

/** Flags the delivery subcommands take (parsed by `host events`). */
export interface DeliveryFlags {
  plugin?: string | undefined;
  state?: string | undefined;
  limit?: number | undefined;
  db?: string | undefined;
  json?: boolean | undefined;
}

export const deliverySubcommands = ["subscribers", "dead-letters", "redeliver"] as const;

/** Runs one delivery subcommand; `target` is the dead letter id of `redeliver`. */
export async function runDelivery(
  sub: (typeof deliverySubcommands)[number],
  target: string | undefined,
  flags: DeliveryFlags,
  io: CliIo,
): Promise<number> {
  const url = resolveDbUrl(flags.db, io.env, io.cwd);
  const options = { url, authToken: io.env.PLUGHOST_DB_TOKEN };
  const out = (text: string, value: unknown) =>
    io.stdout(flags.json ? JSON.stringify(value) + "\n" : text);
  if (sub === "redeliver") {
    if (target === undefined) {
      throw new UsageError("Missing the dead letter ID: list them with 'host events dead-letters'");
    }
    const store = await openExistingStore(options);
    if (store === undefined) {
      throw new HostError("not_found", `No database at ${url}: nothing to redeliver`);
    }
    try {
      const letter = await store.delivery.requestRedelivery(target, Date.now());
      out(
        `queued ${letter.id} (event ${letter.eventId} to ${letter.pluginId}); a running host ` +
          `delivering to ${letter.pluginId} redelivers it at its next poll\n`,
        letter,
      );
      return ExitCode.ok;
    } finally {
      await store.close();
    }
  }
  if (target !== undefined) throw new UsageError(`Unexpected argument '${target}'`);
  const store = await openExistingStore(options);
  try {
    if (sub === "subscribers") {
      const head = store ? await store.delivery.head() : 0;
      const list = (store ? await store.delivery.subscriptions() : [])
        .filter((s) => flags.plugin === undefined || s.pluginId === flags.plugin)
        .map((s) => ({ ...s, lag: Math.max(0, head - s.cursor) }));
      out(
        list.length === 0 ? `No event subscribers in ${url}\n` : table(
          ["PLUGIN", "CURSOR", "LAG", "DELIVERED", "FAILURES", "DEAD", "EXPIRED", "HOLDER"],
          list.map((s) => [
            s.pluginId,
            String(s.cursor),
            String(s.lag),
            String(s.delivered),
            String(s.failures),
            String(s.deadLettered),
            String(s.expired),
            s.holder ?? "-",
          ]),
        ),
        { subscribers: list },
      );
      return ExitCode.ok;
    }
    const state = parseState(flags.state);
    const letters = store
      ? await store.delivery.deadLetters({ pluginId: flags.plugin, state, limit: flags.limit })
      : [];
    out(
      letters.length === 0 ? "No dead letters\n" : table(
        ["ID", "PLUGIN", "TOPIC", "ATTEMPTS", "STATE", "ERROR"],
        letters.map((l: DeadLetter) => [
          l.id,
          l.pluginId,
          l.topic,
          String(l.attempts),
          l.state,
          `${l.errorClass}: ${l.errorMessage}`.slice(0, 80),
        ]),
      ),
      { deadLetters: letters },
    );
    return ExitCode.ok;
  } finally {
    await store?.close();
  }
}

function parseState(state: string | undefined): DeadLetterState | undefined {
  if (state === undefined) return undefined;
  if (state === "dead" || state === "pending" || state === "redelivered") return state;
  throw new UsageError(`--state takes dead, pending or redelivered, got '${state}'`);
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i]!)).join("  ") + "\n";
  return line(head) + rows.map(line).join("");
}
