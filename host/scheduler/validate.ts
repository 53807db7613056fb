/**
 * Checks a schedule before it is stored, so a bad one is refused when it is
 * added (CLI, API, manifest), never when it would trigger: the cron pattern
 * and time zone, the interval, the capability (it must exist in the plugin's
 * manifest) and the input (it must match the capability's input schema).
 * @module
 */
import { HostError } from "../errors.ts";
import { hookExport, hookRunName, scheduledHook } from "../lifecycle/mod.ts";
import type { Manifest } from "../manifest/mod.ts";
import { capabilityValidator } from "../core/mod.ts";
import { type Schedule, type ScheduleInput, type Store } from "../store/mod.ts";
import { checkCron, checkTimezone } from "./timing.ts";

/**
 * Throws `invalid_input` (or `not_found` for a capability the plugin lacks)
 * with a message that says what to change.
 */
export function checkSchedule(input: ScheduleInput, manifest: Manifest): void {
  if ((input.cron === undefined) === (input.intervalMs === undefined)) {
    throw new HostError("invalid_input", "Give exactly one of a cron expression and an interval");
  }
  if (input.cron !== undefined) checkCron(input.cron, input.timezone);
  else checkTimezone(input.timezone);
  if (input.intervalMs !== undefined && input.intervalMs < 1000) {
    throw new HostError("invalid_input", "The interval must be at least 1 s");
  }
  if (manifest.id !== input.pluginId) {
    throw new HostError(
      "invalid_input",
      `The manifest is of '${manifest.id}', not '${input.pluginId}'`,
    );
  }
  const hook = scheduledHook(input.capability);
  if (hook !== undefined) {
    // A hook target (`hook:onSchedule`): the manifest must declare it; its input is free-form.
    if (hook !== "onSchedule" || hookExport(manifest, hook) === undefined) {
      throw new HostError(
        "not_found",
        `Plugin '${input.pluginId}' ${manifest.version} declares no ${hook} hook: a schedule may target only hook:onSchedule, declared in the manifest's hooks`,
      );
    }
    return;
  }
  if (!Object.hasOwn(manifest.capabilities, input.capability)) {
    const known = Object.keys(manifest.capabilities).join(", ") || "none";
    throw new HostError(
      "not_found",
      `Plugin '${input.pluginId}' ${manifest.version} has no capability '${input.capability}' (it has: ${known})`,
    );
  }
  const issues = capabilityValidator(manifest, input.capability, "input")(input.input ?? {});
  if (issues.length > 0) {
    throw new HostError(
      "invalid_input",
      `The input does not match ${input.pluginId}/${input.capability}'s input schema: ${
        issues.map((i) => `${i.path || "/"} ${i.message}`).join("; ")
      }`,
    );
  }
}

/** Names given through the API/CLI; `/` is kept for manifest schedules (`<plugin>/<name>`). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * Adds a schedule from the API or CLI after `checkSchedule`; a taken name is a
 * `conflict`. Running hosts pick it up at their next poll.
 */
export async function addSchedule(
  store: Store,
  manifest: Manifest,
  input: Omit<ScheduleInput, "source" | "pluginVersion">,
): Promise<Schedule> {
  if (!NAME.test(input.name)) {
    throw new HostError(
      "invalid_input",
      `Invalid schedule name '${input.name}': use letters, digits and . _ : - (at most 128, no '/')`,
    );
  }
  checkSchedule(input, manifest);
  return await store.schedules.create({ ...input, source: "api" });
}

/** The schedules a manifest declares, checked, in the repository's input shape. */
export function manifestSchedules(
  manifest: Manifest,
): Omit<ScheduleInput, "pluginId" | "source" | "pluginVersion">[] {
  return (manifest.schedules ?? []).map((s) => {
    const input = {
      name: s.name,
      // The schema allows exactly one of the two.
      capability: s.hook === undefined ? s.capability! : hookRunName(s.hook),
      cron: s.cron,
      input: s.input ?? {},
      ...(s.timezone === undefined ? {} : { timezone: s.timezone }),
    };
    checkSchedule({ ...input, name: `${manifest.id}/${s.name}`, pluginId: manifest.id }, manifest);
    return input;
  });
}
