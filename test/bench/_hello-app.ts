/**
 * The in-process HTTP setup of http-layer.bench.ts and _profile-http.ts: a
 * host in a temp directory with the signed hello plugin and the host
 * functions `host serve` gives every plugin, an `invoke` token, the server's
 * Hono app (no rate limit), and requests to hello's capability route.
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { capabilityProvider } from "../../host/capabilities/mod.ts";
import { createHost, type Host, type HostOptions } from "../../host/host.ts";
import { createApp } from "../../host/server/app.ts";
import type { SigningKey } from "../../host/trust/mod.ts";
import { newKey, signedFirstParty, trustStoreOf } from "../helpers/signing.ts";

/**
 * What the benchmarks' hosts share: a data directory of their own, `key` as the
 * one trusted signer, no module cache on disk, and the host functions `host
 * serve` gives every plugin (createHost's default), hooks included.
 */
export function benchHostOptions(home: string, key: SigningKey): HostOptions {
  return { home, trust: trustStoreOf(key), cache: false, hostFunctions: capabilityProvider() };
}

/** hello's `greet` capability route. */
export const GREET_URL = "http://bench/v1/plugins/example.hello/capabilities/greet";

/** The connection the app sees for every request (loopback). */
export const PEER = { remoteAddress: "127.0.0.1" };

export interface HelloApp {
  host: Host;
  app: ReturnType<typeof createApp>["app"];
  /** A POST of `body` to `url`, with the token when `auth`. */
  request(url: string, body: string, type?: string, auth?: boolean): Request;
  close(): Promise<void>;
}

/** Opens the host (temp dir named by `prefix`), loads hello, makes the token and the app. */
export async function helloApp(prefix: string): Promise<HelloApp> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const key = await newKey();
  const host = await createHost(benchHostOptions(dir, key));
  const close = async () => {
    await host.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await host.load(await signedFirstParty("hello", key), "bench");
    const { token } = await host.store.tokens.create({ name: "bench", scopes: ["invoke"] });
    const { app } = createApp({ host, options: { rateLimitPerSecond: 0 } });
    const request = (url: string, body: string, type = "application/json", auth = true) =>
      new Request(url, {
        method: "POST",
        headers: {
          ...(auth ? { authorization: `Bearer ${token}` } : {}),
          "content-type": type,
          "content-length": String(body.length),
        },
        body,
      });
    return { host, app, request, close };
  } catch (error) {
    await close();
    throw error;
  }
}
