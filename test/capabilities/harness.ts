/**
 * A real host for capability tests: a temp data directory with a trusted key,
 * opened with createHost (store, trust, runtime, the capability provider).
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CapabilityOptions, capabilityProvider } from "../../host/capabilities/mod.ts";
import { resolvePaths } from "../../host/config/paths.ts";
import type { InvokeResult } from "../../host/core/mod.ts";
import { createHost, type Host, type HostOptions } from "../../host/host.ts";
import type { Event } from "../../host/store/mod.ts";
import { type SigningKey, trustKey } from "../../host/trust/mod.ts";
import { newKey, signedFirstParty } from "../helpers/signing.ts";

export const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
export const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** A test host; `close` closes it and removes its directory. */
export interface TestHost {
  home: string;
  key: SigningKey;
  host: Host;
  /** Loads a first-party plugin signed with the test key, its manifest optionally edited. */
  load(name: string, edit?: (manifest: Record<string, unknown>) => void): Promise<void>;
  call(pluginId: string, capability: string, input?: unknown): Promise<InvokeResult>;
  events(filter?: { type?: string; runId?: string }): Promise<Event[]>;
  close(): Promise<void>;
}

/**
 * Opens a host in a fresh temp directory; `capabilities` given means a custom provider,
 * `defaults` the limits of plugins whose manifest does not ask.
 */
export async function testHost(
  capabilities?: CapabilityOptions,
  home = mkdtempSync(join(tmpdir(), "plughost-caps-")),
  defaults?: HostOptions["defaults"],
): Promise<TestHost> {
  const key = await newKey("operator");
  await trustKey(join(home, "trust"), key.publicKey, { label: "operator" });
  const host = await createHost({
    home,
    paths: resolvePaths({}, home, { home }),
    ...(capabilities ? { hostFunctions: capabilityProvider(capabilities) } : {}),
    ...(defaults ? { defaults } : {}),
  });
  return {
    home,
    key,
    host,
    async load(name, edit) {
      await host.runtime.load(await signedFirstParty(name, key, edit), `test:${name}`);
    },
    call(pluginId, capability, input) {
      return host.runtime.invoke({
        pluginId,
        capability,
        input: input === undefined ? new Uint8Array() : json(input),
        trigger: "cli",
        durable: true,
      });
    },
    async events(filter = {}) {
      await host.store.flush();
      return (await host.store.events.query({ ...filter, limit: 1000 })).events;
    },
    async close() {
      await host.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** The output of an ok result as JSON; fails the test with the error otherwise. */
export function outputOf(result: InvokeResult): unknown {
  if (!result.ok) throw new Error(`call failed: ${result.error.class}: ${result.error.message}`);
  return result.output.byteLength === 0 ? null : JSON.parse(text(result.output));
}
