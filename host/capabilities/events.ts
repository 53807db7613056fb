/**
 * `event_publish`: a topic the manifest's `permissions.events.publish`
 * patterns allow, into the event log as `plugin.<id>.<topic>` with the plugin
 * and run id. Queued on the store's batching writer, so the call answers at once.
 * @module
 */
import { z } from "zod";
import type { HostFunction } from "../sandbox/mod.ts";
import { AbiError, okResult, parseRequest, utf8Length, wellFormed } from "./abi.ts";
import { denied } from "./audit.ts";
import { type CapabilityContext, grantsFor, syncFunction } from "./context.ts";
import { pluginEventsLeft } from "./logger.ts";
import { holdsSecret, knownSecrets, redactJson } from "./redact.ts";
import {
  MAX_TOPIC_BYTES,
  publishedType,
  reservedRoot,
  topicMatches,
  topicProblem,
} from "./topics.ts";

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
      const run = ctx.runs.get(call.runId);
      if (run) {
        // Logs and publishes share one budget of plugin-originated events per run; a refused
        // publish spends it too, so denials cannot flood the audit trail.
        if (pluginEventsLeft(ctx, run) <= 0) {
          throw new AbiError(
            "rate_limited",
            `event_publish: this run already wrote ${
              run.published + run.logLines
            } events (publishes and log lines), the host's limit per run is ${ctx.policy.publishPerRun}`,
          );
        }
        run.published++;
      }
      const secrets = knownSecrets(ctx, call.pluginId, run ? [run] : []);
      if (holdsSecret(topic, secrets)) {
        throw new AbiError("invalid_input", "event_publish: the topic holds a secret value");
      }
      const root = reservedRoot(topic);
      if (root !== null) {
        return denied(
          ctx,
          call,
          "event_publish",
          { topic },
          `topics under '${root}.' (in any letter case) are the host's own`,
        );
      }
      const patterns = grantsFor(ctx, call).publish;
      if (!patterns.some((p) => topicMatches(p, topic))) {
        return denied(
          ctx,
          call,
          "event_publish",
          { topic },
          `topic '${topic}' matches no permissions.events.publish pattern (${
            patterns.join(", ") || "none granted"
          })`,
        );
      }
      // `acme` publishing `hello.greeted` would write plugin.acme.hello.greeted: the type of
      // `acme.hello` publishing `greeted`, and subscribers match on the type.
      const owner = namespaceOwner(ctx, call.pluginId, topic);
      if (owner !== undefined) {
        return denied(
          ctx,
          call,
          "event_publish",
          { topic },
          `topic '${topic}' would be published as an event of plugin '${owner}' ` +
            `(plugin.${owner}.*): use a topic that does not start with '${
              owner.slice(call.pluginId.length + 1)
            }.'`,
        );
      }
      const size = utf8Length(JSON.stringify(payload ?? null));
      if (size > MAX_PUBLISH_PAYLOAD_BYTES) {
        throw new AbiError(
          "invalid_input",
          `event_publish: "payload" is ${size} bytes of JSON; the limit is ${MAX_PUBLISH_PAYLOAD_BYTES}`,
        );
      }
      // Namespaced: what a plugin publishes lands under `plugin.<id>.`, so no plugin can pass
      // for another or for the host, and subscribers grant topics per publisher.
      const type = publishedType(call.pluginId, topic);
      if (type.length > MAX_TOPIC_BYTES) {
        throw new AbiError(
          "invalid_input",
          `event_publish: "topic" is published as '${type}', ${type.length} bytes; the limit is ${MAX_TOPIC_BYTES}: use a shorter topic`,
        );
      }
      const { id, written } = ctx.store.events.appendWithId({
        type,
        level: "info",
        source: `plugin:${call.pluginId}`,
        pluginId: call.pluginId,
        runId: call.runId,
        payload: redactJson(payload ?? null, secrets),
      });
      written.catch(() => {}); // the writer retries and reports failures itself
      return okResult({ id });
    }),
  };
}

/**
 * The plugin, loaded or installed, whose event namespace `topic` of
 * `publisher` would fall in, if another's. An id not installed yet is guarded
 * at its install instead (core/install.ts, `nestedPinConflict`).
 */
function namespaceOwner(
  ctx: CapabilityContext,
  publisher: string,
  topic: string,
): string | undefined {
  const segments = topic.split(".");
  for (let n = 1; n < segments.length; n++) {
    // Ids are lower case; a topic's segments may not be: `Hello.x` reads as `hello.x` to a
    // person or a case-folding consumer.
    const id = `${publisher}.${segments.slice(0, n).join(".").toLowerCase()}`;
    if (ctx.known(id)) return id;
  }
  return undefined;
}
