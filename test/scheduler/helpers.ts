/**
 * Real hosts for scheduler tests: a temp data directory with a trusted key,
 * plugins signed with it and installed, opened with openHost. No mocks.
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type HostPaths, resolvePaths } from "../../host/config/paths.ts";
import { installPlugin, type OpenHost, openHost } from "../../host/core/mod.ts";
import type { Event, RunRecord, Store } from "../../host/store/mod.ts";
import { type SigningKey, signPlugin, trustKey } from "../../host/trust/mod.ts";
import { fixture } from "../sandbox/fixtures.ts";
import { newKey, signedFirstParty } from "../helpers/signing.ts";

/** A data directory with a trusted operator key. */
export interface TestHome {
  home: string;
  paths: HostPaths;
  key: SigningKey;
  remove(): void;
}

/** Makes a fresh data directory whose trust store trusts a new key. */
export async function testHome(): Promise<TestHome> {
  const home = mkdtempSync(join(tmpdir(), "plughost-sched-"));
  const key = await newKey("operator");
  await trustKey(join(home, "trust"), key.publicKey, { label: "operator" });
  return {
    home,
    paths: resolvePaths({}, home, { home }),
    key,
    remove: () => rmSync(home, { recursive: true, force: true }),
  };
}

/** The hello plugin signed with `key`, its manifest optionally edited. */
export function hello(
  key: SigningKey,
  edit: (m: Record<string, unknown>) => void = () => {},
): Promise<Uint8Array> {
  return signedFirstParty("hello", key, edit);
}

/**
 * A plugin whose capability `spin` loops until its timeout (1.5 s) or its fuel
 * (the default 1e9: ~0.5 s on Node, less on a faster machine) ends it: a slow
 * capability. Its http permission makes it run in worker mode, so the
 * loop does not hold the host's event loop.
 */
export async function slowPlugin(key: SigningKey, timeoutMs = 1500): Promise<Uint8Array> {
  const manifest = {
    schemaVersion: 1,
    id: "test.slow",
    version: "1.0.0",
    name: "Slow",
    engines: { host: "^0.1.0", abi: 1 },
    capabilities: { spin: { export: "run" } },
    permissions: { http: { allowedHosts: ["example.invalid"] } },
    limits: { timeoutMs },
  };
  return (await signPlugin(fixture("spin"), key, { manifest: JSON.stringify(manifest) })).wasm;
}

/** Opens a host on `home` and installs `plugins` in it. */
export async function hostWith(home: TestHome, plugins: Uint8Array[]): Promise<OpenHost> {
  const host = await openHost({ paths: home.paths });
  for (const wasm of plugins) {
    await installPlugin(host.runtime, home.paths.plugins, wasm, { force: true });
  }
  return host;
}

/** Every run with trigger `schedule`, oldest first. */
export async function scheduledRuns(store: Store): Promise<RunRecord[]> {
  await store.flush();
  const page = await store.runs.list({ limit: 1000 });
  return page.runs.filter((r) => r.trigger === "schedule").reverse();
}

/** Events of one type, oldest first. */
export async function eventsOf(store: Store, type: string): Promise<Event[]> {
  await store.flush();
  const page = await store.events.query({ type, limit: 1000 });
  return page.events;
}

/** Waits `ms`. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 100 ms until it is true or `ms` passed; returns its last answer. */
export async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await sleep(100);
  }
  return await check();
}
