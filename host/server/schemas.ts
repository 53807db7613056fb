/**
 * zod schemas of the API's own bodies (problems, plugins, pages), shared by
 * the route definitions and thus by /openapi.json.
 * @module
 */
import { z } from "@hono/zod-openapi";
import { Event, RunRecord } from "../store/mod.ts";

/** An `application/problem+json` body. */
export const Problem = z.object({
  type: z.string().describe("Stable URI of the error: https://plughost.dev/problems/<code>"),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().describe("What was wrong and what to do"),
  code: z.string(),
}).loose().openapi("Problem");

/** A response entry for an error status. */
export function problemContent(description: string) {
  return { description, content: { "application/problem+json": { schema: Problem } } };
}

const Signer = z.object({ keyId: z.string(), label: z.string().nullable() });

/** A capability as the API lists it. */
export const CapabilityInfo = z.object({
  name: z.string(),
  export: z.string(),
  description: z.string().nullable(),
  input: z.record(z.string(), z.unknown()).nullable(),
  output: z.record(z.string(), z.unknown()).nullable(),
}).openapi("Capability");

/** A plugin in lists. */
/** A plugin's lifecycle on this host (docs/lifecycle.md). */
export const PluginLifecycle = z.object({
  state: z.enum(["installed", "loading", "active", "suspended", "error", "stopping", "stopped"]),
  since: z.string().describe("When it entered this state (ISO 8601)"),
  reason: z.string(),
  breaker: z.object({
    state: z.enum(["closed", "open", "half_open"]),
    trips: z.number().int().describe("Times it opened since the plugin loaded"),
    retryAt: z.string().nullable().describe("When the next probe call is let through"),
    recovery: z.enum(["retry", "restart", "disable"]),
  }),
}).openapi("PluginLifecycle");

export const PluginSummary = z.object({
  id: z.string(),
  version: z.string(),
  name: z.string().nullable(),
  digest: z.string(),
  state: z.enum(["enabled", "disabled"]),
  signers: z.array(Signer),
  unsigned: z.boolean(),
  source: z.string(),
  capabilities: z.array(z.string()),
  lifecycle: PluginLifecycle.nullable(),
}).openapi("PluginSummary");

/** One plugin in full. */
export const PluginDetail = PluginSummary.omit({ capabilities: true }).extend({
  mode: z.enum(["main", "worker"]),
  manifest: z.record(z.string(), z.unknown()),
  capabilities: z.array(CapabilityInfo),
}).openapi("Plugin");

/** A page of runs. */
export const RunPageSchema = z.object({
  runs: z.array(RunRecord),
  cursor: z.string().nullable().describe(
    "Pass as ?cursor= for the next (older) page; null: no more",
  ),
}).openapi("RunPage");

/** An event as the API returns it (the payload is any JSON; recursive schemas cannot be documented). */
export const EventSchema = Event.extend({ payload: z.unknown() }).openapi("Event");

/** A page of events. */
export const EventPageSchema = z.object({
  events: z.array(EventSchema),
  cursor: z.string().nullable().describe("Pass as ?cursor= for events after this page"),
}).openapi("EventPage");

export { RunRecord };
