/**
 * `host dev`'s view of what the server does with the plugin: follows the
 * server's event stream for one plugin id and reports each run's result and
 * each log line, so an author sees calls (over HTTP, from schedules, ...) as
 * they happen. Reconnects with Last-Event-ID after a dropped stream.
 * @module
 */
import { z } from "zod";

/** One thing a follower reports. */
export type RunActivity =
  | {
    kind: "run";
    runId: string;
    capability: string;
    trigger: string;
    ok: boolean;
    fuel?: string | number | undefined;
    durationMs?: number | undefined;
    error?: { class: string; message: string } | undefined;
  }
  | { kind: "log"; runId: string | null; level: string; message: string };

const eventSchema = z.object({
  type: z.string(),
  level: z.string().optional(),
  runId: z.string().nullable().optional(),
  payload: z.record(z.string(), z.unknown()).nullable().optional(),
});

const runPayload = z.object({
  capability: z.string().optional(),
  export: z.string().optional(),
  trigger: z.string().optional(),
  usage: z.object({
    fuel: z.union([z.string(), z.number()]).optional(),
    durationMs: z.number().optional(),
  }).partial().optional(),
  error: z.object({ class: z.string(), message: z.string() }).optional(),
});

/** Turns one stream event into what the author sees, or null for events not about runs. */
export function activityOf(data: unknown): RunActivity | null {
  const event = eventSchema.safeParse(data);
  if (!event.success) return null;
  const { type, runId, payload } = event.data;
  if (type === "run.finished" || type === "run.failed") {
    const run = runPayload.safeParse(payload ?? {});
    if (!run.success || !runId) return null;
    return {
      kind: "run",
      runId,
      capability: run.data.capability ?? run.data.export ?? "?",
      trigger: run.data.trigger ?? "?",
      ok: type === "run.finished",
      fuel: run.data.usage?.fuel,
      durationMs: run.data.usage?.durationMs,
      error: run.data.error,
    };
  }
  if (type === "plugin.log") {
    const message = typeof payload?.message === "string" ? payload.message : "";
    return { kind: "log", runId: runId ?? null, level: event.data.level ?? "info", message };
  }
  return null;
}

/** Options of {@link followRuns}. */
export interface FollowOptions {
  server: string;
  token?: string | undefined;
  pluginId: string;
  signal: AbortSignal;
  report(activity: RunActivity): void;
  /** Called when the stream cannot be opened (the follower retries after `retryMs`). */
  warn?(message: string): void;
  retryMs?: number;
}

/** Follows `pluginId`'s runs and logs on the server until `signal` aborts. */
export async function followRuns(options: FollowOptions): Promise<void> {
  let lastId: string | undefined;
  let warned = false;
  while (!options.signal.aborted) {
    try {
      const url = new URL("/v1/events/stream", options.server);
      url.searchParams.set("pluginId", options.pluginId);
      const headers: Record<string, string> = { accept: "text/event-stream" };
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      if (lastId) headers["last-event-id"] = lastId;
      const response = await fetch(url, { headers, signal: options.signal });
      if (!response.ok || !response.body) {
        throw new Error(`the server answered ${response.status} to ${url.pathname}`);
      }
      warned = false;
      for await (const message of sseMessages(response.body)) {
        if (message.id) lastId = message.id;
        let data: unknown;
        try {
          data = JSON.parse(message.data);
        } catch {
          continue;
        }
        const activity = activityOf(data);
        if (activity) options.report(activity);
      }
    } catch (error) {
      if (options.signal.aborted) return;
      if (!warned) {
        options.warn?.(
          `cannot follow the plugin's runs: ${error instanceof Error ? error.message : error}`,
        );
        warned = true;
      }
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.retryMs ?? 1000);
      options.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }
}

/** Splits a text/event-stream body into messages (id and joined data lines). */
async function* sseMessages(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<{ id?: string; data: string }> {
  const decoder = new TextDecoder();
  let buffer = "";
  let id: string | undefined;
  let data: string[] = [];
  const reader = body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    buffer += decoder.decode(read.value, { stream: true });
    let newline: number;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, "");
      buffer = buffer.slice(newline + 1);
      if (line === "") {
        if (data.length > 0) {
          yield id === undefined ? { data: data.join("\n") } : { id, data: data.join("\n") };
        }
        data = [];
        continue;
      }
      if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      else if (line.startsWith("id:")) id = line.slice(3).trim();
    }
  }
}

/** One line for the terminal. */
export function formatActivity(activity: RunActivity): string {
  if (activity.kind === "log") {
    return `  log ${activity.level}: ${activity.message}\n`;
  }
  const usage = [
    activity.fuel !== undefined ? `fuel ${activity.fuel}` : "",
    activity.durationMs !== undefined ? `${activity.durationMs.toFixed(1)} ms` : "",
  ].filter(Boolean).join(", ");
  const result = activity.ok
    ? "ok"
    : `failed: ${activity.error?.class ?? "error"}: ${activity.error?.message ?? ""}`;
  return `run ${activity.runId} ${activity.capability} (${activity.trigger}) ${result}` +
    (usage ? ` [${usage}]` : "") + "\n";
}
