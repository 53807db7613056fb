/**
 * A real server app for tests: a host (createHost) over a temp directory, a
 * trust store with a fresh key, the signed hello plugin loaded, and tokens of
 * every scope. No mocks.
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PluginRuntime } from "../../host/core/mod.ts";
import { createHost, type Host, type HostOptions } from "../../host/host.ts";
import { createApp } from "../../host/server/app.ts";
import type { ServerApp, ServerDeps, ServerOptions } from "../../host/server/context.ts";
import { type Store, TokensRepository } from "../../host/store/mod.ts";
import type { SigningKey } from "../../host/trust/mod.ts";
import { newKey, signedFirstParty, trustStoreOf } from "../helpers/signing.ts";

/** Bearer tokens by role. */
export interface Tokens {
  admin: string;
  read: string;
  invoke: string;
  /** `invoke:example.other` only: may not call example.hello. */
  invokeOther: string;
  revoked: string;
}

export interface Harness {
  app: ServerApp;
  deps: ServerDeps;
  host: Host;
  store: Store;
  runtime: PluginRuntime;
  key: SigningKey;
  tokens: Tokens;
  dir: string;
  /** `app.request` with a bearer token. */
  call(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
  close(): Promise<void>;
}

/**
 * Builds the harness; close it after each test. `host` adds host options,
 * e.g. `hostFunctions: capabilityProvider({ ... })`.
 */
export async function harness(
  options: Partial<ServerOptions> = {},
  host: Pick<HostOptions, "hostFunctions"> = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "plughost-server-"));
  const key = await newKey();
  const served = await createHost({ home: dir, trust: trustStoreOf(key), cache: false, ...host });
  const { store, runtime: plugins } = served;
  await served.load(await signedFirstParty("hello", key), "test");
  const repo = new TokensRepository(store.db);
  const make = async (scopes: string[]) => (await repo.create({ name: scopes.join("+"), scopes }));
  const revoked = await make(["admin"]);
  await repo.revoke(revoked.record.id);
  const tokens: Tokens = {
    admin: (await make(["admin"])).token,
    read: (await make(["read"])).token,
    invoke: (await make(["invoke"])).token,
    invokeOther: (await make(["invoke:example.other"])).token,
    revoked: revoked.token,
  };
  const { app, deps } = createApp({
    host: served,
    options: { rateLimitPerSecond: 0, ...options },
  });
  return {
    app,
    deps,
    host: served,
    store,
    runtime: plugins,
    key,
    tokens,
    dir,
    call(path, init = {}) {
      const { token, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (token !== undefined) headers.set("authorization", `Bearer ${token}`);
      return Promise.resolve(app.request(path, { ...rest, headers }));
    },
    async close() {
      await served.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A JSON POST body. */
export function jsonBody(value: unknown): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(value),
  };
}
