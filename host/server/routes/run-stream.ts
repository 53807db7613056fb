/**
 * `GET /v1/runs/{id}/stream`: one run followed over server-sent events. The
 * run's events (progress, log lines, run.finished or run.failed) come as they
 * are written, each as `GET /v1/events/stream` sends it (event type, cursor
 * id, the event JSON), replayed from the start of the run; then one `result`
 * message with the outcome and output, and the stream closes. It reuses the
 * event streams' follower (stream-hub.ts) and counts against their caps
 * (stream-caps.ts); a client resumes after `Last-Event-ID`. It ends early
 * with `server.stream.end` when its client is too slow for its bounded
 * queue (`slow_client`), or when a run running on another server is still
 * running after `runStreamFollowMs` (`follow_limit`). The output of an async run is
 * kept by the run queue for `asyncResultTtlMs`; for an older run, or one
 * that was not async, `result` carries the RunRecord's status without output.
 * @module
 */
import { z } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import { HostError } from "../../errors.ts";
import type { RunRecord } from "../../store/mod.ts";
import type { RouteModule, ServerDeps } from "../context.ts";
import { ProblemError } from "../problem.ts";
import { streamHead } from "../stream-caps.ts";
import { defineRoute, guarded } from "../route.ts";
import { startedRun } from "../run-owner.ts";
import type { RunOutcome } from "../run-queue.ts";
import { problemContent } from "../schemas.ts";
import { replayTexts, streamEndMessage, type Subscription, unseenText } from "../stream-hub.ts";

export const streamRun = defineRoute("read", {
  method: "get",
  path: "/v1/runs/{id}/stream",
  tags: ["runs"],
  summary: "Follow one run's progress and logs, ending with its output (server-sent events)",
  description: "Messages: the run's events (`event: run.progress`, `plugin.log`, " +
    "`run.finished`...; data: the event JSON), then `event: result` with " +
    '`{"runId","ok","output"|"error","usage","outputKept"}`, then the stream closes. ' +
    "Resume with `Last-Event-ID` (or ?cursor=). A stream the server ends early sends " +
    '`event: server.stream.end` with `{"reason":"slow_client"|"follow_limit","cursor","detail"}` ' +
    "instead of `result`: reconnect with `Last-Event-ID: <cursor>`. Needs scope `read`, or the " +
    "token that started the run with `?async=true` while this server keeps it.",
  request: {
    params: z.object({ id: z.string().min(1).max(200) }),
    query: z.object({
      cursor: z.string().regex(/^\d{1,15}$/).optional().describe(
        "The run's events after this cursor",
      ),
    }),
  },
  responses: {
    200: {
      description: "The run's event stream",
      content: { "text/event-stream": { schema: z.string() } },
    },
    400: problemContent("Bad cursor"),
    404: problemContent("No such run"),
    429: problemContent("Too many streams open for this token, or on the server"),
  },
});

/** Keep-alive comment interval while a run is quiet. */
const KEEP_ALIVE_MS = 15_000;
/** Largest text written at once while replaying. */
const MAX_WRITE = 1024 * 1024;
const decoder = new TextDecoder();

export const runStream: RouteModule = {
  name: "run-stream",
  register(app, deps) {
    const hub = deps.eventHub;
    app.openapi(guarded(app, streamRun, { except: startedRun(deps) }), async (c) => {
      const runId = c.req.valid("param").id;
      const lastId = c.req.header("last-event-id")?.trim();
      if (lastId !== undefined && lastId !== "" && !/^\d{1,15}$/.test(lastId)) {
        throw new ProblemError(
          "invalid_input",
          "Last-Event-ID must be an event id this stream sent",
        );
      }
      const start = lastId || c.req.valid("query").cursor;
      const pending = deps.runQueue.outcome(runId);
      const record = pending ? undefined : await deps.store.runs.get(runId);
      if (!pending && !record) {
        throw new HostError("not_found", `No run '${runId}': see GET /v1/runs`);
      }
      if (c.req.method === "HEAD") return streamHead(c); // no stream to hold (see events.ts)
      const token = c.get("token");
      const release = deps.openStreams.take(token?.id ?? "", token?.name ?? "", deps.options);
      let sub: Subscription;
      try {
        // Subscribed before the replay, so nothing written in between is missed.
        sub = await hub.subscribe({ runId });
      } catch (error) {
        release();
        throw error;
      }
      return streamSSE(c, async (stream) => {
        let closed = false;
        let cursor = start === undefined ? -1 : Number(start);
        const stop = () => {
          closed = true;
          sub.close();
        };
        stream.onAbort(stop);
        deps.shutdown.addEventListener("abort", stop, { once: true });
        const write = async (text: string) => {
          if (!closed) await stream.write(text);
        };
        const end = (reason: "slow_client" | "follow_limit", detail: string) => {
          const from = cursor < 0 ? "(none)" : String(cursor);
          return write(
            streamEndMessage(reason, cursor, `${detail}: reconnect with Last-Event-ID: ${from}`),
          );
        };
        try {
          cursor = await replay(deps, runId, cursor, write);
          const done = pending
            ? pending.then(() => "done" as const)
            : record!.status === "running"
            ? waitForRecord(deps, runId, () => closed)
            : undefined;
          if (done !== undefined) {
            for (;;) {
              if (closed) return;
              const next = await Promise.race([sub.next(KEEP_ALIVE_MS), done]);
              if (next === "done") break;
              if (next === "closed") return;
              if (next === "follow_limit") {
                const limit = Math.round(deps.options.runStreamFollowMs / 1000);
                await end(
                  "follow_limit",
                  `Run '${runId}' is still running on another server after ${limit} s, the ` +
                    `most this server follows it (see GET /v1/runs/${runId})`,
                );
                return;
              }
              if (next === "idle") {
                await write(": keep-alive\n\n");
                continue;
              }
              if (next === "overflow") {
                await end(
                  "slow_client",
                  `This stream's client read slower than the run's events came (more than ` +
                    `${deps.options.streamQueueBytes} bytes or 5000 events waiting)`,
                );
                return;
              }
              const unseen = unseenText(next, cursor);
              cursor = unseen.cursor;
              if (unseen.text !== "") await write(unseen.text);
            }
            // Every event of the run is durable before its outcome: read the rest, then end.
            cursor = await replay(deps, runId, cursor, write);
          }
          const outcome = pending ? await pending : undefined;
          const final = await deps.store.runs.get(runId);
          await write(
            `event: result\ndata: ${JSON.stringify(result(runId, outcome, final))}\n\n`,
          );
        } catch {
          // The client went away mid-write, or the store failed: the stream just ends.
        } finally {
          deps.shutdown.removeEventListener("abort", stop);
          sub.close();
          release();
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
    // At most `streamQueueBytes` held for the client at a time, whatever the events weigh.
    const batch = replayTexts(page.items, deps.options.streamQueueBytes, MAX_WRITE);
    for (const text of batch.texts) await write(text);
    if (batch.last !== undefined) cursor = batch.last;
    if (batch.taken === page.items.length && page.items.length < deps.options.streamBatch) {
      return cursor;
    }
  }
}

/**
 * A run that is not this server's async run but still running: its RunRecord
 * read every `runStreamPollMs` until it ends (`done`), the stream closes, or
 * `runStreamFollowMs` has passed (`follow_limit`).
 */
function waitForRecord(
  deps: ServerDeps,
  runId: string,
  closed: () => boolean,
): Promise<"done" | "follow_limit"> {
  const until = performance.now() + deps.options.runStreamFollowMs; // monotonic
  return new Promise((resolve) => {
    const check = async () => {
      const record = await deps.store.runs.get(runId).catch(() => undefined);
      if (
        record === undefined || record.status !== "running" || deps.shutdown.aborted || closed()
      ) {
        resolve("done");
      } else if (performance.now() >= until) resolve("follow_limit");
      else setTimeout(check, Math.min(deps.options.runStreamPollMs, until - performance.now()));
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
