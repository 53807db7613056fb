/**
 * Helpers of the delivery tests: a real host over a temp data directory
 * (trusting a fresh test key), the example plugin `failure-counter` signed
 * under other ids and topics, and a gate that holds one plugin's calls until
 * the test lets them through: "slow" measured in deliveries allowed, not time.
 * @module
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { capabilityProvider } from "../../host/capabilities/mod.ts";
import type { HostFunctionProvider } from "../../host/core/mod.ts";
import { createHost, type Host, type HostOptions } from "../../host/host.ts";
import { type SigningKey, trustKey } from "../../host/trust/mod.ts";
import { newKey, signedFirstParty } from "../helpers/signing.ts";

/** A data directory with a trusted key, reopened as often as a test likes. */
export interface TestHome {
  home: string;
  key: SigningKey;
  open(options?: Partial<HostOptions>): Promise<Host>;
}

export async function testHome(): Promise<TestHome> {
  const home = mkdtempSync(join(tmpdir(), "plughost-delivery-"));
  const key = await newKey("operator");
  await trustKey(join(home, "trust"), key.publicKey, { label: "operator" });
  return {
    home,
    key,
    open: (options = {}) =>
      createHost({ home, paths: { trust: join(home, "trust") }, cache: false, ...options }),
  };
}

/** Loads failure-counter as plugin `id` subscribed to `topics` (granted as given, default the same). */
export async function loadSubscriber(
  host: Host,
  key: SigningKey,
  id: string,
  hook: { topics: string[]; granted?: string[]; priority?: number; ttlMs?: number },
): Promise<void> {
  const wasm = await signedFirstParty("failure-counter", key, (m) => {
    m["id"] = id;
    m["hooks"] = {
      onEvent: {
        export: "on_event",
        topics: hook.topics,
        ...(hook.priority === undefined ? {} : { priority: hook.priority }),
        ...(hook.ttlMs === undefined ? {} : { ttlMs: hook.ttlMs }),
      },
    };
    m["permissions"] = {
      kv: { quotaBytes: 4096 },
      events: { subscribe: hook.granted ?? hook.topics },
    };
  });
  await host.load(wasm, `test:${id}`);
}

/**
 * The ABI's host functions, with every call of the plugin `gated` waiting for
 * a permit first (`allow(n)`, or `open()` for all). `entered` lists the
 * plugin ids in the order their calls started.
 */
export function gatedProvider(gated: string) {
  const base = capabilityProvider();
  let permits = 0;
  let opened = false;
  const waiting: (() => void)[] = [];
  const entered: string[] = [];
  const wake = () => {
    while (waiting.length > 0 && (opened || permits > 0)) {
      if (!opened) permits--;
      waiting.shift()!();
    }
  };
  const provider: HostFunctionProvider = (manifest, host) => {
    const set = base(manifest, host);
    return {
      ...set,
      beforeCall: async (call) => {
        entered.push(call.pluginId);
        if (call.pluginId === gated) {
          await new Promise<void>((resolve) => {
            waiting.push(resolve);
            wake();
          });
        }
        await set.beforeCall?.(call);
      },
    };
  };
  return {
    provider,
    entered,
    allow(n: number) {
      permits += n;
      wake();
    },
    open() {
      opened = true;
      wake();
    },
  };
}

/** Polls `check` until it is true (the test's own timeout bounds the wait). */
export async function until(check: () => boolean | Promise<boolean>, pollMs = 10): Promise<void> {
  while (!await check()) await new Promise((resolve) => setTimeout(resolve, pollMs));
}

/** The ok deliveries of a subscriber, as event ids in the order they were recorded. */
export async function delivered(host: Host, pluginId: string): Promise<string[]> {
  const rows = await host.store.delivery.deliveries(pluginId, 100_000);
  return rows.filter((r) => r.status === "ok").map((r) => r.eventId);
}
