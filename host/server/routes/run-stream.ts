/**
 * `GET /v1/runs/{id}/stream`: one run followed over server-sent events. The
 * run's events (progress, log lines, run.finished or run.failed) come as they
 * are written, each as `GET /v1/events/stream` sends it (event type, cursor
 * id, the event JSON), replayed from the start of the run; then one `result`
 * message with the outcome and output, and the stream closes. It reuses the
 * event streams' follower (stream-hub.ts). The output of an async run is
 * kept by the run queue for `asyncResultTtlMs`; for an older run, or one
 * that was not async, `result` carries the RunRecord's status without output.
 * @module
 */
import { z } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import { HostError } from "../../errors.ts";
import type { RunRecord } from "../../store/mod.ts";
import type { RouteModule, ServerDeps } from "../context.ts";
import { defineRoute, guarded } from "../route.ts";
import type { RunOutcome } from "../run-queue.ts";
import { problemContent } from "../schemas.ts";
import { EventHub, sseMessage } from "../stream-hub.ts";

export const streamRun = defineRoute("read", {
  method: "get",
  path: "/v1/runs/{id}/stream",
  tags: ["runs"],
  summary: "Follow one run's progress and logs, ending with its output (server-sent events)",
  description: "Messages: the run's events (`event: run.progress`, `plugin.log`, " +
    "`run.finished`...; data: the event JSON), then `event: result` with " +
    '`{"runId","ok","output"|"error","usage","outputKept"}`, then the stream closes.',
  request: { params: z.object({ id: z.string().min(1).max(200) }) },
  responses: {
    200: {
      description: "The run's event stream",
      content: { "text/event-stream": { schema: z.string() } },
    },
    404: problemContent("No such run"),
  },
});

/** Keep-alive comment interval while a run is quiet. */
const KEEP_ALIVE_MS = 15_000;
const decoder = new TextDecoder();

export const runStream: RouteModule = {
  name: "run-stream",
  register(app, deps) {
    const hub = new EventHub(deps.store, {
      pollMs: deps.options.streamPollMs,
      signal: deps.shutdown,
    });
    app.openapi(guarded(app, streamRun), async (c) => {
      const runId = c.req.valid("param").id;
      const pending = deps.runQueue.outcome(runId);
      const record = pending ? undefined : await deps.store.runs.get(runId);
      if (!pending && !record) {
        throw new HostError("not_found", `No run '${runId}': see GET /v1/runs`);
      }
      // Subscribed before the replay, so nothing written in between is missed.
      const sub = await hub.subscribe({ runId });
      return streamSSE(c, async (stream) => {
        let closed = false;
        const stop = () => {
          closed = true;
          sub.close();
        };
        stream.onAbort(stop);
        deps.shutdown.addEventListener("abort", stop, { once: true });
        try {
          let cursor = await replay(deps, runId, -1, (text) => stream.write(text));
          const ended = pending ??
            (record!.status === "running" ? waitForRecord(deps, runId) : undefined);
          if (ended !== undefined) {
            const done = ended.then(() => "done" as const);
            for (;;) {
              if (closed) return;
              const next = await Promise.race([sub.next(KEEP_ALIVE_MS), done]);
              if (next === "done") break;
              if (next === "closed") return;
              if (next === "idle") {
                await stream.write(": keep-alive\n\n");
                continue;
              }
              if (next === "overflow") {
                cursor = await replay(deps, runId, cursor, (text) => stream.write(text));
                continue;
              }
              let text = "";
              for (const item of next) {
                if (item.cursor <= cursor) continue;
                text += item.message;
                cursor = item.cursor;
              }
              if (text !== "") await stream.write(text);
            }
            // Every event of the run is durable before its outcome: read the rest, then end.
            cursor = await replay(deps, runId, cursor, (text) => stream.write(text));
          }
          const outcome = pending ? await pending : undefined;
          const final = await deps.store.runs.get(runId);
          await stream.write(
            `event: result\ndata: ${JSON.stringify(result(runId, outcome, final))}\n\n`,
          );
        } catch {
          // The client went away mid-write, or the store failed: the stream just ends.
        } finally {
          deps.shutdown.removeEventListener("abort", stop);
          sub.close();
        }
      });
    });
  },
};

/** Writes the run's events after `cursor` from the store; returns the new cursor. */
async function replay(
  deps: ServerDeps,
  runId: string,
  cursor: number,
  write: (text: string) => Promise<unknown>,
): Promise<number> {
  for (;;) {
    const page = await deps.store.events.readBatch({
      runId,
      after: cursor < 0 ? undefined : String(cursor),
      limit: deps.options.streamBatch,
    });
    let text = "";
    for (const item of page.items) {
      text += sseMessage(item);
      cursor = Number(item.cursor);
    }
    if (text !== "") await write(text);
    if (page.items.length < deps.options.streamBatch) return cursor;
  }
}

/** A run that is not this server's async run but still running: ends with its run.* event. */
function waitForRecord(deps: ServerDeps, runId: string): Promise<void> {
  return new Promise((resolve) => {
    const check = async () => {
      const record = await deps.store.runs.get(runId).catch(() => undefined);
      if (record === undefined || record.status !== "running" || deps.shutdown.aborted) {
        resolve();
      } else setTimeout(check, deps.options.streamPollMs);
    };
    void check();
  });
}

/** The final `result` message: the kept outcome (with output), or the RunRecord's status. */
function result(runId: string, outcome: RunOutcome | undefined, record: RunRecord | undefined) {
  if (outcome !== undefined) {
    if (outcome.ok) {
      const text = decoder.decode(outcome.output);
      let output: unknown = text;
      try {
        output = JSON.parse(text);
      } catch {
        // Output that is not JSON is sent as a string.
      }
      return { runId, ok: true, output, usage: outcome.usage, outputKept: true };
    }
    return { runId, ok: false, error: outcome.error, usage: outcome.usage, outputKept: true };
  }
  const ok = record?.status === "ok";
  return {
    runId,
    ok,
    status: record?.status ?? "unknown",
    ...(ok ? {} : {
      error: record?.error ?? { class: "host_error", message: "The run did not finish" },
    }),
    usage: record?.usage ?? null,
    output: null,
    outputKept: false,
  };
}
