/**
 * Nested plugin ids and their signers. Plugin `acme` publishing `hello.x`
 * writes `plugin.acme.hello.x`, the type of plugin `acme.hello`'s event `x`.
 * event_publish refuses that while `acme.hello` is loaded or installed
 * (capabilities/events.ts), but what `acme` published before `acme.hello`
 * came stays in the log. So an id nested in a pinned id's namespace (or one
 * holding a pinned id in its own) installs only when the two share a signer:
 * then whoever could write into the namespace is the same publisher.
 * @module
 */
import { HostError } from "../errors.ts";
import type { PluginsRepository } from "../store/mod.ts";

/**
 * The refusal of `id` pinned to `pin` when an id around or inside it is
 * pinned (installed, or uninstalled with its pin kept) to none of those keys;
 * undefined when there is none. An id pinned to no key (a dev install) sets
 * no bound.
 */
export async function nestedPinConflict(
  plugins: PluginsRepository,
  id: string,
  pin: readonly string[],
): Promise<HostError | undefined> {
  const segments = id.split(".");
  for (let n = 1; n < segments.length; n++) {
    const outer = segments.slice(0, n).join(".");
    const outerPin = await plugins.pin(outer);
    if (outerPin && disjoint(outerPin, pin)) return conflict(plugins, id, pin, outer, outerPin);
  }
  for (const [inner, innerPin] of await plugins.pinsUnder(id)) {
    if (disjoint(innerPin, pin)) return conflict(plugins, id, pin, inner, innerPin);
  }
  return undefined;
}

function disjoint(other: readonly string[], pin: readonly string[]): boolean {
  return other.length > 0 && !other.some((k) => pin.includes(k));
}

function conflict(
  plugins: PluginsRepository,
  id: string,
  pin: readonly string[],
  other: string,
  otherPin: readonly string[],
): HostError {
  const [outer, inner] = other.length < id.length ? [other, id] : [id, other];
  const by = pin.length > 0 ? `key(s) ${pin.join(", ")}` : "no trusted key (dev mode)";
  const fix = plugins.isInstalled(other)
    ? `pin '${other}' to both publishers first ('host plugins rekey ${other} --key ${
      [...otherPin, pin[0] ?? "KEYID"].join(" --key ")
    }')`
    : `forget the pin of the uninstalled '${other}' ('host plugins unpin ${other}') or rekey it`;
  return new HostError(
    "conflict",
    `Plugin '${id}' would share an event namespace with plugin '${other}', pinned to key(s) ` +
      `${otherPin.join(", ")}: '${outer}' publishing '${inner.slice(outer.length + 1)}.x' ` +
      `writes the type of '${inner}' publishing 'x'. This file is signed by ${by}. ` +
      `Sign it with a key of '${other}', or, if both publishers may write there, ${fix}`,
    { details: { pluginId: id, nestedWith: other, pinnedKeyIds: otherPin, signerKeyIds: pin } },
  );
}
