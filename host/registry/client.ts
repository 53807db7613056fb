/**
 * The registry's HTTP client: publish, search, versions, download, promote,
 * yank. Problems come back as HostErrors with the server's code; an
 * unreachable registry is `network_error` (exit 93), and so is one that does
 * not answer in time or sends more than a plugin file may weigh: each request
 * has a deadline (30 s) and each body a size bound (64 MiB, the upload limit
 * of `POST /v1/plugins`), read as it arrives and never buffered past it.
 * @module
 */
import { HostError, isErrorCode } from "../errors.ts";
import type { RegistryChannel } from "../store/mod.ts";
import type { RegistrySummary, RegistryVersion, SearchQuery } from "./service.ts";
import { z } from "zod";

/**
 * What the install reads of a registry's versions page (the rest is passed
 * on as it came); the manifest itself is checked where it is used.
 */
const VersionsPage = z.object({
  versions: z.array(
    z.object({
      version: z.string(),
      digest: z.string(),
      yanked: z.boolean(),
      manifest: z.record(z.string(), z.unknown()),
    }).passthrough(),
  ),
});

/** Options of a client. */
export interface ClientOptions {
  /** Bearer token (publish, promote, yank, drafts). */
  token?: string | undefined;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /** Deadline of one request, body included, in ms (default 30 s). */
  timeoutMs?: number;
  /** Largest response body, in bytes (default 64 MiB, the host's plugin upload limit). */
  maxBytes?: number;
}

/** Default deadline of one registry request, body included. */
export const REGISTRY_TIMEOUT_MS = 30_000;
/** Default largest registry response (the same bound as `maxUploadBytes`: a plugin file). */
export const REGISTRY_MAX_BYTES = 64 * 1024 * 1024;
/** Most of an error body read (its problem JSON is small). */
const MAX_ERROR_BYTES = 64 * 1024;

/** A registry at `baseUrl` (e.g. `http://127.0.0.1:8787`). */
export class RegistryClient {
  readonly baseUrl: string;
  readonly #token: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;

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
    this.#timeoutMs = options.timeoutMs ?? REGISTRY_TIMEOUT_MS;
    this.#maxBytes = options.maxBytes ?? REGISTRY_MAX_BYTES;
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
      const path = `/v1/registry/plugins/${encodeURIComponent(id)}?channel=${channel}`;
      const page = VersionsPage.safeParse(await this.#json<unknown>(path));
      if (!page.success) {
        // A broken (or hostile) registry is a failed request, not a host failure (500).
        throw new HostError(
          "network_error",
          `The registry at ${this.baseUrl} answered ${path.split("?")[0]} with a versions page ` +
            `this host cannot read (${
              z.prettifyError(page.error).split("\n")[0]
            }): check that registry`,
        );
      }
      return page.data.versions as unknown as RegistryVersion[];
    } catch (error) {
      if (error instanceof HostError && error.code === "not_found") return [];
      throw error;
    }
  }

  /** A published file by digest. */
  download(digest: string): Promise<Uint8Array> {
    return this.#request(`/v1/registry/artifacts/${digest}`);
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
    const body = await this.#request(path, init);
    try {
      return JSON.parse(new TextDecoder().decode(body)) as T;
    } catch {
      throw new HostError(
        "network_error",
        `The registry at ${this.baseUrl} answered ${path} with a body that is not JSON`,
      );
    }
  }

  /** One request within the deadline: the body of a 2xx answer, else the registry's problem. */
  async #request(path: string, init: RequestInit = {}): Promise<Uint8Array> {
    const headers = new Headers(init.headers);
    if (this.#token) headers.set("authorization", `Bearer ${this.#token}`);
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.#timeoutMs);
    const late = () =>
      new HostError(
        "network_error",
        `The registry at ${this.baseUrl} did not answer ${path.split("?")[0]} within ` +
          `${this.#timeoutMs / 1000} s: try again, or check that registry`,
      );
    try {
      let res: Response;
      try {
        res = await this.#fetch(`${this.baseUrl}${path}`, {
          ...init,
          headers,
          signal: deadline.signal,
        });
      } catch (error) {
        if (deadline.signal.aborted) throw late();
        throw new HostError(
          "network_error",
          `Cannot reach the registry at ${this.baseUrl}: ${
            error instanceof Error ? error.message : String(error)
          } (is 'host serve --registry' running there?)`,
        );
      }
      try {
        if (res.ok) return await this.#body(res, this.#maxBytes, path);
        const body = new TextDecoder().decode(await this.#body(res, MAX_ERROR_BYTES, path, true));
        throw this.#problem(res.status, body);
      } catch (error) {
        if (deadline.signal.aborted && !(error instanceof HostError)) throw late();
        throw error;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The body, read as it arrives: refused past `limit` bytes (by Content-Length
   * before reading, else when the count passes it), or cut at `limit` if `truncate`.
   */
  async #body(res: Response, limit: number, path: string, truncate = false): Promise<Uint8Array> {
    const tooLarge = () =>
      new HostError(
        "network_error",
        `The registry at ${this.baseUrl} sent more than ${limit} bytes for ` +
          `${path.split("?")[0]}, the most this host accepts (a plugin file's upload limit)`,
      );
    const declared = Number(res.headers.get("content-length") ?? NaN);
    if (!truncate && Number.isFinite(declared) && declared > limit) {
      await res.body?.cancel().catch(() => {});
      throw tooLarge();
    }
    if (res.body === null) return new Uint8Array();
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (size + value.byteLength > limit) {
        // Nothing past the bound is kept; the rest of the body is not read.
        await reader.cancel().catch(() => {});
        if (!truncate) throw tooLarge();
        chunks.push(value.subarray(0, limit - size));
        size = limit;
        break;
      }
      chunks.push(value);
      size += value.byteLength;
    }
    const out = new Uint8Array(size);
    let at = 0;
    for (const chunk of chunks) {
      out.set(chunk, at);
      at += chunk.byteLength;
    }
    return out;
  }

  /** The HostError of a non-2xx answer: the registry's own code when it sent problem JSON. */
  #problem(status: number, body: string): HostError {
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
    return new HostError(code, `The registry at ${this.baseUrl} answered ${status}: ${detail}`, {
      ...(typeof problem.details === "object" && problem.details !== null
        ? { details: problem.details as Record<string, unknown> }
        : {}),
    });
  }
}
