/**
 * The registry's HTTP client: publish, search, versions, download, promote,
 * yank. Problems come back as HostErrors with the server's code; an
 * unreachable registry is `network_error` (exit 93).
 * @module
 */
import { HostError, isErrorCode } from "../errors.ts";
import type { RegistryChannel } from "../store/mod.ts";
import type { RegistrySummary, RegistryVersion, SearchQuery } from "./service.ts";

/** Options of a client. */
export interface ClientOptions {
  /** Bearer token (publish, promote, yank, drafts). */
  token?: string | undefined;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

/** A registry at `baseUrl` (e.g. `http://127.0.0.1:8787`). */
export class RegistryClient {
  readonly baseUrl: string;
  readonly #token: string | undefined;
  readonly #fetch: typeof fetch;

  constructor(baseUrl: string, options: ClientOptions = {}) {
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch {
      throw new HostError(
        "invalid_input",
        `Invalid registry URL '${baseUrl}': give one like http://host:8787`,
      );
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new HostError(
        "invalid_input",
        `The registry URL must be http(s), not '${url.protocol}'`,
      );
    }
    this.baseUrl = url.href.replace(/\/+$/, "");
    this.#token = options.token;
    this.#fetch = options.fetch ?? fetch;
  }

  /** Publishes a signed plugin file. */
  publish(
    wasm: Uint8Array,
    options: { channel?: RegistryChannel; source?: string; changelog?: string } = {},
  ): Promise<RegistryVersion> {
    const query = new URLSearchParams();
    if (options.channel) query.set("channel", options.channel);
    if (options.source) query.set("source", options.source);
    if (options.changelog) query.set("changelog", options.changelog);
    return this.#json(`/v1/registry/artifacts?${query}`, {
      method: "POST",
      headers: { "content-type": "application/wasm" },
      body: wasm as Uint8Array<ArrayBuffer>,
    });
  }

  /** One page of search results. */
  search(query: SearchQuery): Promise<{ plugins: RegistrySummary[]; nextCursor: string | null }> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    return this.#json(`/v1/registry/plugins?${params}`);
  }

  /** A plugin's versions on `channel` (newest first); [] when it is not published there. */
  async versions(id: string, channel: RegistryChannel = "ga"): Promise<RegistryVersion[]> {
    try {
      const page = await this.#json<{ versions: RegistryVersion[] }>(
        `/v1/registry/plugins/${encodeURIComponent(id)}?channel=${channel}`,
      );
      return page.versions;
    } catch (error) {
      if (error instanceof HostError && error.code === "not_found") return [];
      throw error;
    }
  }

  /** A published file by digest. */
  async download(digest: string): Promise<Uint8Array> {
    const res = await this.#request(`/v1/registry/artifacts/${digest}`);
    return new Uint8Array(await res.arrayBuffer());
  }

  /** Promotes a version (registry:admin). */
  promote(id: string, version: string, channel: RegistryChannel): Promise<RegistryVersion> {
    return this.#json(
      `/v1/registry/plugins/${encodeURIComponent(id)}/versions/${version}/promote`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ channel }),
      },
    );
  }

  /** Yanks a version (registry:admin). */
  yank(id: string, version: string, reason: string): Promise<RegistryVersion> {
    return this.#json(`/v1/registry/plugins/${encodeURIComponent(id)}/versions/${version}/yank`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ reason }),
    });
  }

  async #json<T>(path: string, init: RequestInit = {}): Promise<T> {
    return await (await this.#request(path, init)).json() as T;
  }

  async #request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.#token) headers.set("authorization", `Bearer ${this.#token}`);
    let res: Response;
    try {
      res = await this.#fetch(`${this.baseUrl}${path}`, { ...init, headers });
    } catch (error) {
      throw new HostError(
        "network_error",
        `Cannot reach the registry at ${this.baseUrl}: ${
          error instanceof Error ? error.message : String(error)
        } (is 'host serve --registry' running there?)`,
      );
    }
    if (res.ok) return res;
    const body = await res.text();
    let problem: { code?: unknown; detail?: unknown; details?: unknown } = {};
    try {
      problem = JSON.parse(body) as typeof problem;
    } catch {
      // Not problem+json: reported with the status below.
    }
    const code = typeof problem.code === "string" && isErrorCode(problem.code)
      ? problem.code
      : "network_error";
    const detail = typeof problem.detail === "string" ? problem.detail : body.slice(0, 200);
    throw new HostError(code, `The registry at ${this.baseUrl} answered ${res.status}: ${detail}`, {
      ...(typeof problem.details === "object" && problem.details !== null
        ? { details: problem.details as Record<string, unknown> }
        : {}),
    });
  }
}
