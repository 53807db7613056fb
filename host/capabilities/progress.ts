/**
 * `progress`: a run reports how far it got. Every plugin may call it (no
 * permission: it only describes the caller's own run); each call is a
 * `run.progress` event with the run id, which `GET /v1/runs/{id}/stream` and
 * `host run --follow` show before the run's output. It spends the run's
 * budget of plugin-originated events, like logs and publishes.
 * @module
 */
import { z } from "zod";
import type { HostFunction } from "../sandbox/mod.ts";
import { AbiError, okResult, parseRequest, utf8Length, wellFormed } from "./abi.ts";
import { type CapabilityContext, syncFunction } from "./context.ts";
import { pluginEventsLeft } from "./logger.ts";
import { knownSecrets, redactJson, redactText } from "./redact.ts";

/** Longest message, in characters. */
export const MAX_PROGRESS_MESSAGE = 1000;
/** Largest `data`, as JSON text. */
export const MAX_PROGRESS_DATA_BYTES = 16 * 1024;

const ProgressRequest = z.object({
  message: wellFormed.max(MAX_PROGRESS_MESSAGE).optional(),
  percent: z.number().min(0).max(100).optional(),
  data: z.unknown().optional(),
});

/** The `progress` host function over `ctx`. */
export function progressFunctions(ctx: CapabilityContext): Record<string, HostFunction> {
  return {
    progress: syncFunction("progress", (call, input) => {
      const request = parseRequest("progress", input, ProgressRequest);
      const run = ctx.runs.get(call.runId);
      if (run) {
        if (pluginEventsLeft(ctx, run) <= 0) {
          throw new AbiError(
            "rate_limited",
            `progress: this run already wrote ${
              run.published + run.logLines
            } events (progress, publishes and log lines), the host's limit per run is ${ctx.policy.publishPerRun}`,
          );
        }
        run.published++;
      }
      if (request.data !== undefined) {
        const size = utf8Length(JSON.stringify(request.data));
        if (size > MAX_PROGRESS_DATA_BYTES) {
          throw new AbiError(
            "invalid_input",
            `progress: "data" is ${size} bytes of JSON; the limit is ${MAX_PROGRESS_DATA_BYTES}`,
          );
        }
      }
      // Like a publish or a log line, a progress report never carries the plugin's secrets.
      const secrets = knownSecrets(ctx, call.pluginId, run ? [run] : []);
      const payload: Record<string, unknown> = {};
      if (request.message !== undefined) payload.message = redactText(request.message, secrets);
      if (request.percent !== undefined) payload.percent = request.percent;
      if (request.data !== undefined) payload.data = redactJson(request.data, secrets);
      const { written } = ctx.store.events.appendWithId({
        type: "run.progress",
        level: "info",
        source: `plugin:${call.pluginId}`,
        pluginId: call.pluginId,
        runId: call.runId,
        payload,
      });
      written.catch(() => {}); // the writer retries and reports failures itself
      return okResult(null);
    }),
  };
}
