/**
 * `host run --follow`: the run's progress events and log lines as they are
 * written, on stderr (the output stays alone on stdout). Locally the event
 * log is read for the run id every 100 ms while the call runs; against a
 * server, `GET /v1/runs/{id}/stream` delivers the same events (run-remote.ts).
 * @module
 */
import type { Host } from "../host.ts";
import type { CliIo } from "./command.ts";

/** One followed event, whatever its source. */
export interface FollowedEvent {
  type: string;
  level?: string | undefined;
  payload: unknown;
}

/** The stderr line of a followed event, or undefined for events --follow does not show. */
export function followLine(event: FollowedEvent): string | undefined {
  const payload =
    (typeof event.payload === "object" && event.payload !== null ? event.payload : {}) as Record<
      string,
      unknown
    >;
  if (event.type === "run.progress") {
    const percent = typeof payload.percent === "number" ? ` ${payload.percent}%` : "";
    const message = typeof payload.message === "string" ? ` ${payload.message}` : "";
    const data = payload.data === undefined ? "" : ` ${JSON.stringify(payload.data)}`;
    return `progress${percent}:${message}${data}\n`;
  }
  if (event.type === "plugin.log") {
    return `log ${event.level ?? "info"}: ${String(payload.message ?? "")}\n`;
  }
  return undefined;
}

/**
 * Follows `runId` in `host`'s event log until the returned function is called;
 * that reads once more (everything the run wrote) and resolves.
 */
export function followLocal(host: Host, runId: string, io: CliIo): () => Promise<void> {
  let cursor: string | undefined;
  let done = false;
  const read = async () => {
    for (;;) {
      const page = await host.events.query({ runId, after: cursor, limit: 500 });
      for (const event of page.events) {
        const line = followLine(event);
        if (line !== undefined) io.stderr(line);
      }
      if (page.cursor !== null) cursor = page.cursor;
      if (page.events.length < 500) return;
    }
  };
  const loop = (async () => {
    while (!done) {
      await read().catch(() => {});
      if (!done) await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return async () => {
    done = true;
    await loop;
    await host.store.flush();
    await read();
  };
}
