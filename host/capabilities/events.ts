/**
 * `event_publish`: a topic the manifest's `permissions.events.publish`
 * patterns allow, into the event log with the plugin and run id. Queued on
 * the store's batching writer, so the call answers at once.
 * @module
 */
import { z } from "zod";
import type { HostFunction } from "../sandbox/mod.ts";
import { AbiError, okResult, parseRequest, utf8Length, wellFormed } from "./abi.ts";
import { denied } from "./audit.ts";
import { type CapabilityContext, grantsFor, syncFunction } from "./context.ts";
import { RESERVED_TOPIC_ROOTS, topicMatches, topicProblem } from "./topics.ts";

/** Largest payload, as JSON text. */
export const MAX_PUBLISH_PAYLOAD_BYTES = 64 * 1024;

const PublishRequest = z.object({ topic: wellFormed, payload: z.unknown().optional() });

/** The `event_publish` host function over `ctx`. */
export function eventFunctions(ctx: CapabilityContext): Record<string, HostFunction> {
  return {
    event_publish: syncFunction("event_publish", (call, input) => {
      const { topic, payload } = parseRequest("event_publish", input, PublishRequest);
      const problem = topicProblem(topic);
      if (problem) throw new AbiError("invalid_input", `event_publish: "topic" ${problem}`);
      const root = topic.split(".")[0]!;
      if (RESERVED_TOPIC_ROOTS.has(root)) {
        return denied(
          ctx.store,
          call,
          "event_publish",
          { topic },
          `topics under '${root}.' are the host's own`,
        );
      }
      const patterns = grantsFor(ctx, call).publish;
      if (!patterns.some((p) => topicMatches(p, topic))) {
        return denied(
          ctx.store,
          call,
          "event_publish",
          { topic },
          `topic '${topic}' matches no permissions.events.publish pattern (${
            patterns.join(", ") || "none granted"
          })`,
        );
      }
      const size = utf8Length(JSON.stringify(payload ?? null));
      if (size > MAX_PUBLISH_PAYLOAD_BYTES) {
        throw new AbiError(
          "invalid_input",
          `event_publish: "payload" is ${size} bytes of JSON; the limit is ${MAX_PUBLISH_PAYLOAD_BYTES}`,
        );
      }
      const run = ctx.runs.get(call.runId);
      if (run) {
        if (run.published >= ctx.policy.publishPerRun) {
          throw new AbiError(
            "rate_limited",
            `event_publish: this run already published ${run.published} events, the host's limit per run`,
          );
        }
        run.published++;
      }
      const { id, written } = ctx.store.events.appendWithId({
        type: topic,
        level: "info",
        source: `plugin:${call.pluginId}`,
        pluginId: call.pluginId,
        runId: call.runId,
        payload: payload ?? null,
      });
      written.catch(() => {}); // the writer retries and reports failures itself
      return okResult({ id });
    }),
  };
}
