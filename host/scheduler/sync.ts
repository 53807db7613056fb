/**
 * Keeps manifest schedules in step with the plugins a host has loaded: on a
 * new version (or digest), the manifest's schedules are added, changed or
 * removed in the database; when a plugin is unloaded and no longer installed,
 * its manifest schedules go. A host running an older version leaves the
 * schedules of a newer one alone.
 * @module
 */
import semver from "semver";
import type { PluginRuntime } from "../core/mod.ts";
import type { SchedulesRepository, Store } from "../store/mod.ts";
import { messageOf, type ScheduleEmitter } from "./events.ts";
import { manifestSchedules } from "./validate.ts";

/** Syncs manifest schedules; `run` is cheap when nothing changed. */
export class ManifestSync {
  readonly #runtime: PluginRuntime;
  readonly #store: Store;
  readonly #schedules: SchedulesRepository;
  readonly #emit: ScheduleEmitter;
  /** Plugin id -> `<version>@<digest>` whose manifest schedules were synced. */
  readonly #synced = new Map<string, string>();

  /** Over one host's runtime and store. */
  constructor(
    runtime: PluginRuntime,
    store: Store,
    schedules: SchedulesRepository,
    emit: ScheduleEmitter,
  ) {
    this.#runtime = runtime;
    this.#store = store;
    this.#schedules = schedules;
    this.#emit = emit;
  }

  /** Brings manifest schedules in step with the loaded plugins, and drops those of uninstalled ones. */
  async run(): Promise<void> {
    const loaded = this.#runtime.list();
    for (const info of loaded) {
      const mark = `${info.version}@${info.digest}`;
      if (this.#synced.get(info.id) === mark) continue;
      try {
        const stored = (await this.#schedules.list({ pluginId: info.id }))
          .filter((s) => s.source === "manifest" && s.pluginVersion !== null);
        // Another host runs a newer version: its manifest decides.
        const newer = stored.some((s) =>
          semver.valid(s.pluginVersion) && semver.gt(s.pluginVersion!, info.version)
        );
        if (!newer) {
          const changes = await this.#schedules.syncManifest(
            info.id,
            info.version,
            manifestSchedules(info.manifest),
          );
          if (changes.added.length + changes.updated.length + changes.removed.length > 0) {
            this.#emit("schedule.synced", "info", null, {
              pluginId: info.id,
              version: info.version,
              ...changes,
            }, { pluginId: info.id });
          }
        }
      } catch (error) {
        this.#emit("schedule.sync_failed", "error", null, {
          pluginId: info.id,
          version: info.version,
          error: messageOf(error),
        }, { pluginId: info.id });
      }
      this.#synced.set(info.id, mark);
    }
    for (const id of [...this.#synced.keys()]) {
      if (loaded.some((p) => p.id === id)) continue;
      this.#synced.delete(id);
      if (await this.#store.plugins.get(id)) continue;
      const changes = await this.#schedules.syncManifest(id, "0.0.0", []);
      if (changes.removed.length > 0) {
        this.#emit("schedule.synced", "info", null, { pluginId: id, ...changes }, {
          pluginId: id,
        });
      }
    }
  }
}
