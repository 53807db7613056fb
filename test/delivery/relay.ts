/**
 * The relay test plugin (relay/index.ts): delivered an event, it publishes
 * `relayed`. Subscribers that relay each other's topics make a delivery chain,
 * or a loop.
 * @module
 */
import { join } from "node:path";
import type { Host } from "../../host/host.ts";
import { type SigningKey, signPlugin } from "../../host/trust/mod.ts";
import { compileAssemblyScript, root } from "../sdk/asc.ts";

let compiled: Promise<Uint8Array> | undefined;

/**
 * Loads the relay as plugin `id`, subscribed to `topics`, publishing `plugin.<id>.relayed`; with
 * `forward`, having the probe `test.mid` publish `plugin.test.mid.relayed` instead.
 */
export async function loadRelay(
  host: Host,
  key: SigningKey,
  id: string,
  topics: string[],
  forward = false,
): Promise<void> {
  compiled ??= compileAssemblyScript(join(root, "test", "delivery", "relay", "index.ts"));
  const manifest = {
    schemaVersion: 1,
    id,
    version: "1.0.0",
    name: `Relay ${id}`,
    engines: { host: "^0.1.0", abi: 1 },
    // Called by tests never; a manifest names at least one capability.
    capabilities: { relay: { export: "on_event" } },
    hooks: { onEvent: { export: forward ? "forward" : "on_event", topics } },
    permissions: {
      events: { subscribe: topics, publish: ["relayed"] },
      ...(forward ? { invoke: ["test.mid/run"] } : {}),
    },
  };
  const signed = await signPlugin(await compiled, key, { manifest: JSON.stringify(manifest) });
  await host.load(signed.wasm, `test:${id}`);
}
