/**
 * A host serving as a plugin registry: publish (verified against the
 * registry's trust store, manifest-checked, loaded in the sandbox), channels
 * draft -> beta -> ga with promotion and yanking, search with filters,
 * sorting and cursor pagination, per-plugin version pages, and downloads by
 * digest. The HTTP routes are host/server/routes/registry.ts.
 * @module
 */
import semver from "semver";
import { dependenciesOf, grantsOf } from "../deps/mod.ts";
import { HostError } from "../errors.ts";
import { type Manifest, ManifestSchema } from "../manifest/schema.ts";
import type { RegistryArtifact, RegistryChannel, Store } from "../store/mod.ts";
import {
  checkPlugin,
  LiveTrustStore,
  type TrustStore,
  type VerifiedPlugin,
  verifyPlugin,
} from "../trust/mod.ts";
import { ABI_VERSION } from "../version.ts";
import type { Probe } from "./probe.ts";

/** Channels from least to most stable; a channel shows its own versions and more stable ones. */
export const CHANNELS: readonly RegistryChannel[] = ["draft", "beta", "ga"];
const rank = (c: RegistryChannel) => CHANNELS.indexOf(c);

/** One version as clients see it. */
export interface RegistryVersion {
  pluginId: string;
  version: string;
  digest: string;
  channel: RegistryChannel;
  /** A signer is still trusted by the registry now (not revoked or expired since publish). */
  verified: boolean;
  signerKeyIds: string[];
  publisher: string;
  publishedAt: string;
  sourceUrl: string | null;
  changelog: string | null;
  yanked: boolean;
  yankReason: string | null;
  size: number;
  capabilities: string[];
  /** The grants its manifest asks for (host/deps grantsOf). */
  permissions: string[];
  manifest: Record<string, unknown>;
}

/** One plugin in search results: its newest visible version. */
export interface RegistrySummary {
  id: string;
  name: string;
  description: string | null;
  version: string;
  digest: string;
  channel: RegistryChannel;
  verified: boolean;
  capabilities: string[];
  publisher: string;
  updatedAt: string;
}

/** Search filters; every field optional. */
export interface SearchQuery {
  /** Words in the id, name or description (case-insensitive). */
  q?: string | undefined;
  /** A capability name the plugin provides. */
  capability?: string | undefined;
  /** A host version the plugin's `engines.host` must include. */
  host?: string | undefined;
  /** Only plugins whose signer the registry trusts now. */
  verified?: boolean | undefined;
  /** The least stable channel to show (default `ga`). */
  channel?: RegistryChannel | undefined;
  sort?: "id" | "name" | "updated" | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** What `publish` takes besides the file. */
export interface PublishInput {
  channel: RegistryChannel;
  sourceUrl?: string | undefined;
  changelog?: string | undefined;
  /** The publishing token's name. */
  publisher: string;
  /** The token has `registry:admin` (needed to publish straight to ga). */
  admin: boolean;
}

/** The registry over a store (its own tables), a trust store and a sandbox probe. */
export class RegistryService {
  readonly #store: Store;
  readonly #trust: TrustStore;
  readonly #probe: Probe;

  constructor(options: { store: Store; trust: TrustStore; probe: Probe }) {
    this.#store = options.store;
    this.#trust = options.trust;
    this.#probe = options.probe;
  }

  /**
   * Publishes a signed plugin file. Refused: `verification_failed` (unsigned,
   * tampered, untrusted, revoked, bad manifest, missing exports), `load_error`
   * (does not load in the sandbox), `forbidden` (ga without registry:admin),
   * `conflict` (the version exists with other bytes). The same bytes again
   * answer the existing entry.
   */
  async publish(wasm: Uint8Array, input: PublishInput): Promise<RegistryVersion> {
    if (input.channel === "ga" && !input.admin) {
      throw new HostError(
        "forbidden",
        "Publishing straight to ga needs a token with scope registry:admin: publish to beta and promote it",
      );
    }
    // A key revoked a moment ago must already be refused (the watcher polls; this reads now).
    if (this.#trust instanceof LiveTrustStore) await this.#trust.refresh();
    const verified = await this.#verify(wasm);
    const manifest = verified.manifest;
    const existing = await this.#store.registry.find(manifest.id, manifest.version);
    if (existing) {
      if (existing.digest === verified.digest) return this.#view(existing);
      throw new HostError(
        "conflict",
        `${manifest.id}@${manifest.version} is already published with digest ${existing.digest}: versions are immutable, bump the version`,
        { details: { pluginId: manifest.id, version: manifest.version, digest: existing.digest } },
      );
    }
    await this.#probe(verified.wasm, manifest);
    const artifact = await this.#store.registry.publish({
      digest: verified.digest,
      pluginId: manifest.id,
      version: manifest.version,
      manifest: manifest as unknown as Record<string, unknown>,
      signerKeyIds: verified.signers.map((s) => s.keyId),
      sourceUrl: input.sourceUrl ?? null,
      changelog: input.changelog ?? null,
      publisher: input.publisher,
      channel: input.channel,
      bytes: wasm,
    });
    void this.#store.events.append({
      type: "registry.published",
      pluginId: manifest.id,
      payload: {
        version: manifest.version,
        digest: verified.digest,
        channel: input.channel,
        publisher: input.publisher,
      },
    }).catch(() => {});
    return this.#view(artifact);
  }

  /** Moves a version to a more stable channel (draft -> beta -> ga). */
  async promote(id: string, version: string, channel: RegistryChannel): Promise<RegistryVersion> {
    const artifact = await this.#require(id, version);
    if (artifact.yankedAt !== null) {
      throw new HostError("conflict", `${id}@${version} is yanked: publish a new version instead`);
    }
    if (rank(channel) <= rank(artifact.channel)) {
      throw new HostError(
        "conflict",
        `${id}@${version} is on ${artifact.channel}; promotion goes draft -> beta -> ga, not to ${channel}`,
      );
    }
    await this.#store.registry.update(artifact.digest, { channel });
    void this.#store.events.append({
      type: "registry.promoted",
      pluginId: id,
      payload: { version, digest: artifact.digest, from: artifact.channel, to: channel },
    }).catch(() => {});
    return this.#view((await this.#store.registry.get(artifact.digest))!);
  }

  /**
   * Yanks a version: no longer chosen by installs or shown as latest; still
   * downloadable by digest, so lockfiles that name it keep working.
   */
  async yank(id: string, version: string, reason: string): Promise<RegistryVersion> {
    const artifact = await this.#require(id, version);
    await this.#store.registry.update(artifact.digest, { yankReason: reason });
    void this.#store.events.append({
      type: "registry.yanked",
      level: "warn",
      pluginId: id,
      payload: { version, digest: artifact.digest, reason },
    }).catch(() => {});
    return this.#view((await this.#store.registry.get(artifact.digest))!);
  }

  /** A plugin's versions visible on `channel` (newest first), yanked ones included and marked. */
  async versions(id: string, channel: RegistryChannel = "ga"): Promise<RegistryVersion[]> {
    const all = await this.#store.registry.versions(id);
    const visible = all.filter((a) => rank(a.channel) >= rank(channel));
    if (all.length === 0 || (visible.length === 0 && channel !== "draft")) {
      throw new HostError(
        "not_found",
        `No plugin '${id}' is published on ${channel}${
          all.length > 0 ? " (it has versions on less stable channels)" : ""
        }: check the id, or search`,
      );
    }
    return visible.sort((a, b) => semver.rcompare(a.version, b.version)).map((a) => this.#view(a));
  }

  /** A published file by digest (yanked ones too). */
  async download(digest: string): Promise<Uint8Array> {
    const bytes = await this.#store.registry.bytes(digest);
    if (!bytes) {
      throw new HostError("not_found", `No artifact with digest ${digest} is published here`);
    }
    return bytes;
  }

  /** Plugins matching `query`, one entry each (their newest visible, not yanked version). */
  async search(
    query: SearchQuery,
  ): Promise<{ plugins: RegistrySummary[]; nextCursor: string | null }> {
    const channel = query.channel ?? "ga";
    const limit = Math.min(Math.max(query.limit ?? 20, 1), 100);
    const latest = new Map<string, RegistryArtifact>();
    for (const a of await this.#store.registry.all()) {
      if (a.yankedAt !== null || rank(a.channel) < rank(channel)) continue;
      // With a host version, the newest version that runs there represents the plugin.
      const engines = (a.manifest as unknown as Manifest).engines;
      if (
        query.host !== undefined &&
        !semver.satisfies(query.host, engines.host, { includePrerelease: true })
      ) continue;
      const current = latest.get(a.pluginId);
      if (!current || semver.gt(a.version, current.version)) latest.set(a.pluginId, a);
    }
    const words = (query.q ?? "").toLowerCase().split(/\s+/).filter((w) => w !== "");
    const items = [...latest.values()].map((a) => this.#summary(a)).filter((s) => {
      const text = `${s.id} ${s.name} ${s.description ?? ""}`.toLowerCase();
      if (!words.every((w) => text.includes(w))) return false;
      if (query.capability !== undefined && !s.capabilities.includes(query.capability)) {
        return false;
      }
      if (query.verified === true && !s.verified) return false;
      if (query.verified === false && s.verified) return false;
      return true;
    });
    const sort = query.sort ?? "id";
    const key = (s: RegistrySummary) =>
      sort === "name" ? s.name.toLowerCase() : sort === "updated" ? s.updatedAt : s.id;
    // "updated" is newest first; the id breaks ties so the order is total and cursors are stable.
    const sign = sort === "updated" ? -1 : 1;
    const compare = (a: { k: string; id: string }, b: { k: string; id: string }) =>
      a.k !== b.k ? (a.k < b.k ? -sign : sign) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    items.sort((a, b) => compare({ k: key(a), id: a.id }, { k: key(b), id: b.id }));
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, sort);
    const rest = after === undefined
      ? items
      : items.filter((s) => compare({ k: key(s), id: s.id }, after) > 0);
    const page = rest.slice(0, limit);
    const last = page[page.length - 1];
    return {
      plugins: page,
      nextCursor: rest.length > limit && last
        ? encodeCursor({ s: sort, k: key(last), id: last.id })
        : null,
    };
  }

  /**
   * verifyPlugin, except that a plugin for other host versions (engines.host
   * excluding this host's, same ABI) is accepted: a registry serves many hosts,
   * and search's `host` filter and installs pick what fits each.
   */
  async #verify(wasm: Uint8Array): Promise<VerifiedPlugin> {
    try {
      return await verifyPlugin(wasm, this.#trust);
    } catch (error) {
      if (!(error instanceof HostError) || error.details?.reason !== "incompatible") throw error;
      const report = await checkPlugin(wasm, this.#trust);
      const manifest = report.manifest;
      if (manifest === undefined || manifest.engines.abi !== ABI_VERSION || !report.digest) {
        throw error;
      }
      return {
        manifest,
        digest: report.digest,
        signers: report.signatures.filter((s) => s.trusted).map((s) => ({
          keyId: s.keyId,
          label: s.label,
        })),
        wasm,
        warnings: [],
      };
    }
  }

  async #require(id: string, version: string): Promise<RegistryArtifact> {
    const artifact = await this.#store.registry.find(id, version);
    if (!artifact) throw new HostError("not_found", `${id}@${version} is not published here`);
    return artifact;
  }

  #trusted(keyIds: string[]): boolean {
    const now = Date.now();
    return keyIds.some((id) => {
      const key = this.#trust.keys.get(id);
      return key !== undefined && !this.#trust.revoked.has(id) &&
        (key.expires === undefined || key.expires.getTime() > now);
    });
  }

  #view(a: RegistryArtifact): RegistryVersion {
    const manifest = ManifestSchema.parse(a.manifest);
    return {
      pluginId: a.pluginId,
      version: a.version,
      digest: a.digest,
      channel: a.channel,
      verified: this.#trusted(a.signerKeyIds),
      signerKeyIds: a.signerKeyIds,
      publisher: a.publisher,
      publishedAt: a.publishedAt,
      sourceUrl: a.sourceUrl,
      changelog: a.changelog,
      yanked: a.yankedAt !== null,
      yankReason: a.yankReason,
      size: a.size,
      capabilities: Object.keys(manifest.capabilities).sort(),
      permissions: grantsOf(manifest),
      manifest: a.manifest,
    };
  }

  #summary(a: RegistryArtifact): RegistrySummary {
    const m = a.manifest as unknown as Manifest;
    return {
      id: a.pluginId,
      name: m.name,
      description: m.description ?? null,
      version: a.version,
      digest: a.digest,
      channel: a.channel,
      verified: this.#trusted(a.signerKeyIds),
      capabilities: Object.keys(m.capabilities).sort(),
      publisher: a.publisher,
      updatedAt: a.updatedAt,
    };
  }
}

function encodeCursor(c: { s: string; k: string; id: string }): string {
  return btoa(JSON.stringify(c)).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

function decodeCursor(cursor: string, sort: string): { k: string; id: string } {
  try {
    const padded = cursor.replaceAll("-", "+").replaceAll("_", "/");
    const value = JSON.parse(atob(padded + "=".repeat((4 - (padded.length % 4)) % 4))) as Record<
      string,
      unknown
    >;
    if (value.s === sort && typeof value.k === "string" && typeof value.id === "string") {
      return { k: value.k, id: value.id };
    }
  } catch {
    // Reported below.
  }
  throw new HostError(
    "invalid_input",
    "Invalid cursor: pass the nextCursor of the previous page, with the same sort",
  );
}

/** The dependencies of a published version, for client-side resolution. */
export function versionDependencies(v: Pick<RegistryVersion, "manifest">) {
  return dependenciesOf(ManifestSchema.parse(v.manifest));
}
