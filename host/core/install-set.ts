/**
 * Installing a set of plugin files as one change: every file is verified and
 * the whole installed set (what is installed plus these files) resolved
 * before anything changes; new permissions on a replaced plugin need consent;
 * then the files are installed dependencies first, and a failure part way
 * puts back what was there. All or nothing.
 * @module
 */
import { readFile } from "node:fs/promises";
import {
  type Candidate,
  dependenciesOf,
  type PermissionDiff,
  permissionDiff,
  resolveDependencies,
  resolveError,
} from "../deps/mod.ts";
import { HostError } from "../errors.ts";
import type { Manifest } from "../manifest/schema.ts";
import { type TrustStore, type VerifiedPlugin, verifyPlugin } from "../trust/mod.ts";
import { installedManifests } from "./dependencies.ts";
import { installedPath, type InstallOptions, installPlugin, uninstallPlugin } from "./install.ts";
import { writeLockfile } from "./lockfile.ts";
import type { PluginRuntime } from "./runtime.ts";
import type { PluginInfo } from "./types.ts";
import semver from "semver";

/** One file of a set, and where it came from (a path, or a registry URL). */
export interface SetFile {
  wasm: Uint8Array;
  source: string;
}

/** Options of `installSet`. */
export interface InstallSetOptions extends Pick<InstallOptions, "force" | "rekey" | "via"> {
  /** The trust store to verify with before anything changes (the runtime's). */
  trust: TrustStore;
  /** Dev mode: as the runtime's allowUnsigned. */
  allowUnsigned?: boolean;
  /** A replaced plugin asking for new permissions needs `acceptPermissions` (updates). */
  requireConsent?: boolean;
  acceptPermissions?: boolean;
  /** Rewrite this lockfile after the set is installed. */
  lockfile?: string;
}

/** What a set changes, per plugin, in install order. */
export interface SetChange {
  id: string;
  version: string;
  digest: string;
  /** The version it replaces, if any. */
  from: string | undefined;
  permissions: PermissionDiff;
}

/**
 * Verifies, resolves and installs `files` as one change (see the module
 * comment). Throws before changing anything: `verification_failed`,
 * `dependency_error` (missing, conflict, cycle), `conflict` (not newer
 * without force), `consent_required` (details.changes lists the added
 * permissions). A failure while installing puts the previous versions back
 * and rethrows.
 */
export async function installSet(
  runtime: PluginRuntime,
  pluginsDir: string,
  files: readonly SetFile[],
  options: InstallSetOptions,
): Promise<{ installed: PluginInfo[]; changes: SetChange[] }> {
  const verified = new Map<string, { plugin: VerifiedPlugin; file: SetFile }>();
  for (const file of files) {
    const plugin = await verifyPlugin(file.wasm, options.trust, {
      allowUnsigned: options.allowUnsigned ?? false,
    });
    if (verified.has(plugin.manifest.id)) {
      throw new HostError(
        "invalid_input",
        `Plugin '${plugin.manifest.id}' is given twice: install one version of it at a time`,
      );
    }
    verified.set(plugin.manifest.id, { plugin, file });
  }
  const installed = await installedManifests(runtime, pluginsDir);
  const records = new Map((await runtime.store.plugins.list()).map((r) => [r.id, r]));
  const changes: SetChange[] = [];
  for (const [id, { plugin }] of verified) {
    const existing = records.get(id);
    if (
      existing && !options.force && !semver.gt(plugin.manifest.version, existing.version)
    ) {
      throw new HostError(
        "conflict",
        `Plugin '${id}' ${existing.version} is installed; ${plugin.manifest.version} is not higher (use force to replace it)`,
        {
          details: {
            pluginId: id,
            installed: existing.version,
            candidate: plugin.manifest.version,
          },
        },
      );
    }
    changes.push({
      id,
      version: plugin.manifest.version,
      digest: plugin.digest,
      from: existing?.version,
      permissions: permissionDiff(existing ? installed.get(id) : undefined, plugin.manifest),
    });
  }
  // The whole set after the change: the installed plugins not replaced, plus these files.
  const after = new Map<string, Manifest>(installed);
  for (const [id, { plugin }] of verified) after.set(id, plugin.manifest);
  const catalog = new Map<string, Candidate<null>[]>();
  for (const [id, m] of after) {
    catalog.set(id, [{ id, version: m.version, dependencies: dependenciesOf(m), data: null }]);
  }
  const roots = [...after].map(([id, m]) => ({
    id,
    range: m.version,
    by: verified.has(id) ? "(install)" : `(installed ${id}@${m.version})`,
  }));
  const resolution = resolveDependencies(roots, catalog);
  if (!resolution.ok) throw resolveError(resolution.failure);

  const consent = changes.filter((c) => c.from !== undefined && c.permissions.added.length > 0);
  if (options.requireConsent && !options.acceptPermissions && consent.length > 0) {
    throw new HostError(
      "consent_required",
      `The update asks for new permissions: ${
        consent.map((c) =>
          `${c.id} ${c.from} -> ${c.version} adds ${c.permissions.added.join(", ")}`
        )
          .join("; ")
      }. Review them and accept with --accept-permissions (HTTP: acceptPermissions true)`,
      { details: { changes: consent } },
    );
  }

  const order = resolution.plugins.map((p) => p.candidate.id).filter((id) => verified.has(id));
  const done: Undo[] = [];
  const infos: PluginInfo[] = [];
  try {
    for (const id of order) {
      const { file } = verified.get(id)!;
      const previous = records.get(id);
      // A new id's pin as it was (none, or an uninstalled id's): a failed set must not pin it.
      const pin = previous === undefined ? await runtime.store.plugins.pin(id) : undefined;
      infos.push(
        await installPlugin(runtime, pluginsDir, file.wasm, {
          force: true,
          rekey: options.rekey ?? false,
          source: file.source,
          via: options.via ?? "install",
          dependenciesChecked: true,
        }),
      );
      done.push({ id, previous: previous && { digest: previous.digest }, pin });
    }
  } catch (error) {
    await putBack(runtime, pluginsDir, done);
    throw error;
  }
  if (options.lockfile !== undefined) await writeLockfile(runtime, pluginsDir, options.lockfile);
  return { installed: infos, changes: order.map((id) => changes.find((c) => c.id === id)!) };
}

/** One install of a set to undo: the record it replaced, or the pin a new id had before. */
interface Undo {
  id: string;
  previous: { digest: string } | undefined;
  pin: string[] | undefined;
}

/** Undoes the installs of a failed set, newest first; best effort (each step reported). */
async function putBack(
  runtime: PluginRuntime,
  pluginsDir: string,
  done: Undo[],
): Promise<void> {
  for (const { id, previous, pin } of done.reverse()) {
    try {
      if (previous === undefined) {
        await uninstallPlugin(runtime, id, { force: true });
        if (pin === undefined) await runtime.store.plugins.forgetPin(id);
        else await runtime.store.plugins.setPinnedKeys(id, pin);
      } else {
        const wasm = new Uint8Array(await readFile(installedPath(pluginsDir, previous.digest)));
        await installPlugin(runtime, pluginsDir, wasm, {
          force: true,
          rekey: true,
          source: "rollback",
          via: "install_set",
          dependenciesChecked: true,
        });
      }
    } catch (error) {
      void runtime.store.events.append({
        type: "plugin.restore_failed",
        level: "error",
        pluginId: id,
        payload: { error: error instanceof Error ? error.message : String(error) },
      }).catch(() => {});
    }
  }
}
