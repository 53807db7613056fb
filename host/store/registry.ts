/**
 * The registry repository (artifacts by digest with provenance and channel)
 * and the install history (what `host rollback` returns to).
 * @module
 */
import { Buffer } from "node:buffer";
import { and, asc, desc, eq } from "drizzle-orm";
import { z } from "zod";
import { HostError } from "../errors.ts";
import { storageError } from "./client.ts";
import type { StoreDb } from "./ops.ts";
import { pluginInstalls, registryArtifacts, registryChannels } from "./schema/index.ts";

/** A release channel: `draft`, `beta` or `ga`. */
export type RegistryChannel = (typeof registryChannels)[number];
export const RegistryChannel = z.enum(registryChannels);

/** A published artifact without its bytes. */
export interface RegistryArtifact {
  digest: string;
  pluginId: string;
  version: string;
  /** The embedded manifest (already validated at publish). */
  manifest: Record<string, unknown>;
  signerKeyIds: string[];
  sourceUrl: string | null;
  changelog: string | null;
  publisher: string;
  publishedAt: string;
  channel: RegistryChannel;
  updatedAt: string;
  yankedAt: string | null;
  yankReason: string | null;
  size: number;
}

/** What `publish` writes. */
export interface ArtifactInput {
  digest: string;
  pluginId: string;
  version: string;
  manifest: Record<string, unknown>;
  signerKeyIds: string[];
  sourceUrl: string | null;
  changelog: string | null;
  publisher: string;
  channel: RegistryChannel;
  bytes: Uint8Array;
}

/** One install recorded in the history. */
export interface InstallEntry {
  seq: number;
  pluginId: string;
  version: string;
  digest: string;
  source: string;
  installedAt: string;
}

/** Artifacts of a registry, and this host's install history. */
export class RegistryRepository {
  readonly #db: StoreDb;

  /** Used by openStore; callers get the instance as `store.registry`. */
  constructor(db: StoreDb) {
    this.#db = db;
  }

  /** Adds an artifact; (plugin id, version) and digest must be new. */
  async publish(input: ArtifactInput): Promise<RegistryArtifact> {
    const now = Date.now();
    const row = {
      digest: input.digest,
      pluginId: input.pluginId,
      version: input.version,
      manifest: JSON.stringify(input.manifest),
      signerKeyIds: JSON.stringify(input.signerKeyIds),
      sourceUrl: input.sourceUrl,
      changelog: input.changelog,
      publisher: input.publisher,
      publishedAt: now,
      channel: input.channel,
      updatedAt: now,
      yankedAt: null,
      yankReason: null,
      size: input.bytes.byteLength,
      bytes: Buffer.from(input.bytes.buffer, input.bytes.byteOffset, input.bytes.byteLength),
    };
    await this.#run(
      "write registry_artifacts",
      () => this.#db.insert(registryArtifacts).values(row),
    );
    return toArtifact(row);
  }

  /** One artifact by digest (without bytes), or undefined. */
  async get(digest: string): Promise<RegistryArtifact | undefined> {
    const rows = await this.#run(
      "read registry_artifacts",
      () =>
        this.#db.select(meta).from(registryArtifacts).where(eq(registryArtifacts.digest, digest))
          .limit(1),
    );
    return rows[0] === undefined ? undefined : toArtifact(rows[0]);
  }

  /** One artifact by plugin id and version, or undefined. */
  async find(pluginId: string, version: string): Promise<RegistryArtifact | undefined> {
    const rows = await this.#run(
      "read registry_artifacts",
      () =>
        this.#db.select(meta).from(registryArtifacts).where(
          and(eq(registryArtifacts.pluginId, pluginId), eq(registryArtifacts.version, version)),
        ).limit(1),
    );
    return rows[0] === undefined ? undefined : toArtifact(rows[0]);
  }

  /** An artifact's bytes, or undefined. */
  async bytes(digest: string): Promise<Uint8Array | undefined> {
    const rows = await this.#run(
      "read registry_artifacts",
      () =>
        this.#db.select({ bytes: registryArtifacts.bytes }).from(registryArtifacts).where(
          eq(registryArtifacts.digest, digest),
        ).limit(1),
    );
    const bytes = rows[0]?.bytes;
    return bytes === undefined ? undefined : new Uint8Array(bytes);
  }

  /** Every version of a plugin (without bytes), oldest first. */
  async versions(pluginId: string): Promise<RegistryArtifact[]> {
    const rows = await this.#run(
      "read registry_artifacts",
      () =>
        this.#db.select(meta).from(registryArtifacts).where(
          eq(registryArtifacts.pluginId, pluginId),
        )
          .orderBy(asc(registryArtifacts.publishedAt)),
    );
    return rows.map(toArtifact);
  }

  /** Every artifact (without bytes), for search; the registry filters and pages them. */
  async all(): Promise<RegistryArtifact[]> {
    const rows = await this.#run(
      "read registry_artifacts",
      () => this.#db.select(meta).from(registryArtifacts).orderBy(asc(registryArtifacts.pluginId)),
    );
    return rows.map(toArtifact);
  }

  /** Moves an artifact to `channel`, or yanks it (with a reason); false when it is unknown. */
  async update(
    digest: string,
    change: { channel: RegistryChannel } | { yankReason: string },
  ): Promise<boolean> {
    const now = Date.now();
    const set = "channel" in change
      ? { channel: change.channel, updatedAt: now }
      : { yankedAt: now, yankReason: change.yankReason, updatedAt: now };
    const result = await this.#run(
      "write registry_artifacts",
      () => this.#db.update(registryArtifacts).set(set).where(eq(registryArtifacts.digest, digest)),
    );
    return result.rowsAffected > 0;
  }

  /** Records an install on this host. */
  async recordInstall(entry: Omit<InstallEntry, "seq" | "installedAt">): Promise<void> {
    await this.#run(
      "write plugin_installs",
      () => this.#db.insert(pluginInstalls).values({ ...entry, installedAt: Date.now() }),
    );
  }

  /** A plugin's install history on this host, newest first. */
  async history(pluginId: string, limit = 50): Promise<InstallEntry[]> {
    const rows = await this.#run(
      "read plugin_installs",
      () =>
        this.#db.select().from(pluginInstalls).where(eq(pluginInstalls.pluginId, pluginId))
          .orderBy(desc(pluginInstalls.seq)).limit(limit),
    );
    return rows.map((r) => ({ ...r, installedAt: new Date(r.installedAt).toISOString() }));
  }

  async #run<T>(what: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      if (/UNIQUE constraint failed/.test(String(error))) {
        throw new HostError(
          "conflict",
          "This plugin version or digest is already published: versions are immutable, bump the version",
        );
      }
      throw storageError(`Cannot ${what}`, error);
    }
  }
}

const meta = {
  digest: registryArtifacts.digest,
  pluginId: registryArtifacts.pluginId,
  version: registryArtifacts.version,
  manifest: registryArtifacts.manifest,
  signerKeyIds: registryArtifacts.signerKeyIds,
  sourceUrl: registryArtifacts.sourceUrl,
  changelog: registryArtifacts.changelog,
  publisher: registryArtifacts.publisher,
  publishedAt: registryArtifacts.publishedAt,
  channel: registryArtifacts.channel,
  updatedAt: registryArtifacts.updatedAt,
  yankedAt: registryArtifacts.yankedAt,
  yankReason: registryArtifacts.yankReason,
  size: registryArtifacts.size,
};

type MetaRow = Omit<typeof registryArtifacts.$inferSelect, "bytes">;

function toArtifact(row: MetaRow): RegistryArtifact {
  return {
    digest: row.digest,
    pluginId: row.pluginId,
    version: row.version,
    manifest: z.record(z.string(), z.unknown()).parse(JSON.parse(row.manifest)),
    signerKeyIds: z.array(z.string()).parse(JSON.parse(row.signerKeyIds)),
    sourceUrl: row.sourceUrl,
    changelog: row.changelog,
    publisher: row.publisher,
    publishedAt: new Date(row.publishedAt).toISOString(),
    channel: row.channel,
    updatedAt: new Date(row.updatedAt).toISOString(),
    yankedAt: row.yankedAt === null ? null : new Date(row.yankedAt).toISOString(),
    yankReason: row.yankReason,
    size: row.size,
  };
}
