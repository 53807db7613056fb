/**
 * Installing from a registry: resolve the requested plugins and their
 * dependencies against the registry's versions and what is installed,
 * download what changes, check each file is the digest the registry
 * announced, then hand the set to `installSet` (verified against the local
 * trust store and resolved again before anything changes; all or nothing).
 * Also updates and `--locked` reinstalls from `plughost.lock`.
 * @module
 */
import { readFile } from "node:fs/promises";
import { signedDigest, toHex } from "../artifact/digest.ts";
import { installedManifests } from "../core/dependencies.ts";
import { installedPath } from "../core/install.ts";
import type { SetChange, SetFile } from "../core/install-set.ts";
import {
  type Candidate,
  dependenciesOf,
  type Lockfile,
  type Requirement,
  resolveDependencies,
  resolveError,
} from "../deps/mod.ts";
import { HostError } from "../errors.ts";
import type { Host } from "../host.ts";
import { engineProblems } from "../manifest/checks.ts";
import { type Manifest, ManifestSchema } from "../manifest/schema.ts";
import type { RegistryChannel } from "../store/mod.ts";
import type { RegistryClient } from "./client.ts";
import type { RegistryVersion } from "./service.ts";

/** A request: an id and a range (`*` when none was given). */
export interface PluginRequest {
  id: string;
  range: string;
}

/** Parses `ID[@RANGE]`. */
export function parseRequest(text: string): PluginRequest {
  const at = text.indexOf("@");
  const id = at < 0 ? text : text.slice(0, at);
  const range = at < 0 ? "*" : text.slice(at + 1);
  if (!/^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$/.test(id)) {
    throw new HostError("invalid_input", `'${text}' is not ID[@RANGE], like 'acme.storage@^1.2.0'`);
  }
  return { id, range };
}

/** One plugin a registry install changes, with what to show the operator. */
export interface PlannedChange {
  id: string;
  version: string;
  from: string | undefined;
  digest: string;
  changelog: string | null;
  verified: boolean;
}

/** Options of `installFromRegistry`. */
export interface RegistryInstallOptions {
  client: RegistryClient;
  /** The least stable channel to choose from (default `ga`). */
  channel?: RegistryChannel;
  /** Ids to move to their newest version in range (updates); others keep what is installed. */
  update?: readonly string[];
  acceptPermissions?: boolean;
}

/**
 * Resolves `requests` against the registry and installs the set. Returns
 * the changes in install order (empty when everything is already in place).
 */
export async function installFromRegistry(
  host: Host,
  requests: readonly PluginRequest[],
  options: RegistryInstallOptions,
): Promise<{ planned: PlannedChange[]; changes: SetChange[] }> {
  const channel = options.channel ?? "ga";
  const installed = await installedManifests(host.runtime, host.paths.plugins);
  const records = new Map((await host.store.plugins.list()).map((r) => [r.id, r]));
  const updating = new Set(options.update ?? []);
  const catalog = new Map<string, Candidate<RegistryVersion | null>[]>();
  const queue = [...requests.map((r) => r.id), ...installed.keys()];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const id = queue.shift()!;
    if (seen.has(id)) continue;
    seen.add(id);
    // Yanked versions and versions for another host version or ABI are never chosen.
    const published = (await options.client.versions(id, channel)).filter((v) => !v.yanked)
      .map((v) => ({ v, manifest: registryManifest(id, v) }))
      .filter(({ manifest }) => engineProblems(manifest).length === 0);
    const candidates: Candidate<RegistryVersion | null>[] = published.map(({ v, manifest }) => ({
      id,
      version: v.version,
      dependencies: dependenciesOf(manifest),
      data: v,
    }));
    const mine = installed.get(id);
    if (mine && !candidates.some((c) => c.version === mine.version)) {
      candidates.push({
        id,
        version: mine.version,
        dependencies: dependenciesOf(mine),
        data: null,
      });
    }
    catalog.set(id, candidates);
    for (const c of candidates) {
      for (const d of c.dependencies) if (!d.optional || installed.has(d.id)) queue.push(d.id);
    }
  }
  const requested = new Set(requests.map((r) => r.id));
  const roots: Requirement[] = requests.map((r) => ({ ...r, by: "(request)" }));
  // What is installed stays (at its version unless it is being updated) and keeps its ranges.
  for (const [id, m] of installed) {
    if (requested.has(id)) continue;
    roots.push({
      id,
      range: updating.has(id) ? "*" : m.version,
      by: `(installed ${id}@${m.version})`,
    });
  }
  const preferred = new Map(
    [...installed].filter(([id]) => !updating.has(id)).map(([id, m]) => [id, m.version]),
  );
  const resolution = resolveDependencies(roots, catalog, { preferred });
  if (!resolution.ok) throw resolveError(resolution.failure);

  const files: SetFile[] = [];
  const planned: PlannedChange[] = [];
  for (const { candidate } of resolution.plugins) {
    const v = candidate.data;
    if (v === null || records.get(candidate.id)?.digest === v.digest) continue;
    const wasm = await options.client.download(v.digest);
    const digest = toHex(await signedDigest(wasm));
    if (digest !== v.digest) {
      throw new HostError(
        "verification_failed",
        `tampered: the registry announced ${v.pluginId}@${v.version} as sha256:${v.digest} but served sha256:${digest}; nothing was installed`,
      );
    }
    files.push({ wasm, source: options.client.baseUrl });
    planned.push({
      id: v.pluginId,
      version: v.version,
      from: installed.get(v.pluginId)?.version,
      digest: v.digest,
      changelog: v.changelog,
      verified: v.verified,
    });
  }
  if (files.length === 0) return { planned, changes: [] };
  try {
    const { changes } = await host.installSet(files, {
      requireConsent: true,
      acceptPermissions: options.acceptPermissions ?? false,
      via: "registry",
      // A requested version below the installed one is a deliberate choice of range.
      force: true,
    });
    return { planned, changes };
  } catch (error) {
    if (!(error instanceof HostError) || error.code !== "consent_required") throw error;
    // The operator decides with the changelog in front of them.
    const notes = planned.filter((p) => p.from !== undefined && p.changelog !== null)
      .map((p) => `${p.id} ${p.version} changelog: ${p.changelog}`);
    throw new HostError(
      "consent_required",
      notes.length === 0 ? error.message : `${error.message}\n${notes.join("\n")}`,
      { details: { ...error.details, planned } },
    );
  }
}

/**
 * Installs exactly what `lock` names: each file from the plugins directory
 * (by digest) or the registry it came from (or `client`), checked to be the
 * locked digest, then verified and installed as one set. Fails, changing
 * nothing, when any digest cannot be had.
 */
export async function installLocked(
  host: Host,
  lock: Lockfile,
  options: { client?: (url: string) => RegistryClient } = {},
): Promise<SetChange[]> {
  const files: SetFile[] = [];
  const records = new Map((await host.store.plugins.list()).map((r) => [r.id, r]));
  for (const [id, entry] of Object.entries(lock.plugins)) {
    if (records.get(id)?.digest === entry.digest) continue;
    let wasm: Uint8Array | undefined = await readFile(
      installedPath(host.paths.plugins, entry.digest),
    )
      .then((b) => new Uint8Array(b), () => undefined);
    // Where it came from stays on record (the lockfile's `registry` is taken from it).
    let source = entry.registry ?? "lockfile";
    if (wasm === undefined) {
      if (entry.registry === undefined || options.client === undefined) {
        throw new HostError(
          "not_found",
          `${id}@${entry.version} (sha256:${entry.digest}) is not kept here and the lockfile names no registry for it: pass --registry URL`,
        );
      }
      const client = options.client(entry.registry);
      wasm = await client.download(entry.digest);
      source = client.baseUrl;
    }
    const digest = toHex(await signedDigest(wasm));
    if (digest !== entry.digest) {
      throw new HostError(
        "verification_failed",
        `tampered: ${id}@${entry.version} should be sha256:${entry.digest}, got sha256:${digest}; nothing was installed`,
      );
    }
    files.push({ wasm, source });
  }
  if (files.length === 0) return [];
  const { installed, changes } = await host.installSet(files, { force: true, via: "lockfile" });
  for (const info of installed) {
    const locked = lock.plugins[info.id]!;
    if (!info.signers.some((s) => locked.signers.includes(s.keyId)) && locked.signers.length > 0) {
      void host.store.events.append({
        type: "plugin.lock_signer_changed",
        level: "warn",
        pluginId: info.id,
        payload: { locked: locked.signers, now: info.signers.map((s) => s.keyId) },
      }).catch(() => {});
    }
  }
  return changes;
}

/** A version's manifest as the registry lists it; a network_error (502) when it is not one. */
function registryManifest(id: string, v: RegistryVersion): Manifest {
  const parsed = ManifestSchema.safeParse(v.manifest);
  if (!parsed.success) {
    throw new HostError(
      "network_error",
      `The registry lists ${id}@${v.version} with a manifest that is not a valid manifest ` +
        `(${parsed.error.issues[0]?.message ?? "invalid"}): check that registry`,
    );
  }
  return parsed.data;
}
