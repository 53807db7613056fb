/**
 * The host's live view of plugin config: the effective values of a plugin
 * (manifest default <- stored base <- stored overlay of this host's
 * environment <- PLUGHOST_CONFIG__ variables), checked against the schema and
 * cached until the database says something changed (one indexed read per run,
 * so a change made on any host sharing the database applies to the next run
 * here), and operators' changes: validated, stored as the next version, and
 * announced as `plugin.config_changed` with secret fields redacted.
 * @module
 */
import process from "node:process";
import { HostError } from "../errors.ts";
import type { Manifest } from "../manifest/mod.ts";
import {
  assertConfig,
  type ConfigValues,
  envConfig,
  isObject,
  mergeConfig,
  redactConfig,
} from "../plugin-config/mod.ts";
import type { ConfigVersion, Store } from "../store/mod.ts";

/** Options of `PluginConfigs`. */
export interface PluginConfigsOptions {
  /** This host's environment (`host serve --env`, `$PLUGHOST_ENV`); its overlay applies. */
  env?: string | undefined;
  /** Where `PLUGHOST_CONFIG__` variables are read (default: the process environment). */
  variables?: Record<string, string | undefined>;
}

/** A plugin's effective config as a run sees it. */
export interface EffectiveConfig {
  values: ConfigValues;
  /** The newest stored change it includes (0: none). */
  seq: number;
  /** True when a stored change arrived since this host last computed it (not on the first read). */
  changed: boolean;
}

/** One stored scope, as operators see it (secret fields redacted). */
export interface ScopeView {
  version: number;
  values: ConfigValues;
  changedAt: string;
  changedBy: string;
}

/** What `GET /v1/plugins/{id}/config` and `host config get` show. */
export interface ConfigView {
  pluginId: string;
  /** The environment whose overlay is shown (null: the base only). */
  env: string | null;
  /** The effective values for that environment on this host (secret fields redacted). */
  effective: ConfigValues;
  default: ConfigValues;
  base: ScopeView | null;
  overlay: ScopeView | null;
  /** The PLUGHOST_CONFIG__ variables that apply on this host. */
  variables: string[];
  schema: Record<string, unknown> | null;
}

/** An operator's change of one scope. */
export interface ConfigChangeRequest {
  /** The overlay to change; undefined or "" for the base. */
  env?: string | undefined;
  /** Who: `cli`, `http:<token name>`. */
  by: string;
  /** The scope's new values from its current ones. */
  edit: (current: ConfigValues) => ConfigValues;
}

/** A stored change, as announced. */
export interface ConfigChanged {
  pluginId: string;
  env: string | null;
  version: number;
  /** Dotted keys whose values changed, were added or removed. */
  changed: string[];
  values: ConfigValues;
  changedAt: string;
  changedBy: string;
}

const ENV_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Checks an environment name; throws `invalid_input`. */
export function checkEnvName(env: string): string {
  if (!ENV_NAME.test(env)) {
    throw new HostError(
      "invalid_input",
      `'${env}' is not an environment name: use letters, digits, '.', '_' or '-' (at most 64), like 'production'`,
    );
  }
  return env;
}

interface Cached {
  manifest: Manifest;
  seq: number;
  values: ConfigValues;
}

/** Plugin config for one host over one store. */
export class PluginConfigs {
  readonly store: Store;
  /** This host's environment, or undefined for none (base only). */
  readonly env: string | undefined;
  readonly #variables: Record<string, string | undefined>;
  readonly #cache = new Map<string, Cached>();

  constructor(store: Store, options: PluginConfigsOptions = {}) {
    this.store = store;
    this.env = options.env ? checkEnvName(options.env) : undefined;
    this.#variables = options.variables ?? process.env;
  }

  /**
   * The effective config of a plugin for a run. Throws `invalid_config` when
   * it fails the schema (the run never starts), naming the field and the
   * layer to fix; `storage_error` when the database does not answer.
   */
  async effective(manifest: Manifest): Promise<EffectiveConfig> {
    const seq = await this.store.config.latestSeq(manifest.id);
    const cached = this.#cache.get(manifest.id);
    if (cached && cached.seq === seq && cached.manifest === manifest) {
      return { values: cached.values, seq, changed: false };
    }
    // seq 0: nothing was ever stored for it (every plugin at its first load, most of them for good).
    const [base, overlay] = seq === 0 ? [null, null] : await this.#stored(manifest.id, this.env);
    const fromEnv = envConfig(manifest.id, manifest.config?.schema, this.#variables);
    const stored = mergeConfig(manifest.config?.default, base?.values, overlay?.values);
    assertConfig(
      manifest,
      stored,
      `The stored config${this.env ? ` (env ${this.env})` : ""}`,
      `fix it with 'host config set ${manifest.id} KEY=VALUE' or 'host config unset'`,
    );
    const values = mergeConfig(stored, fromEnv.values);
    if (fromEnv.names.length > 0) {
      assertConfig(
        manifest,
        values,
        `The config from ${fromEnv.names.join(", ")}`,
        "fix those environment variables and restart the host",
      );
    }
    // A concurrent read may have cached this seq already: then the change was seen once, not twice.
    const previous = this.#cache.get(manifest.id);
    this.#cache.set(manifest.id, { manifest, seq, values });
    return { values, seq, changed: previous !== undefined && previous.seq < seq };
  }

  /** The config as operators see it, for `env` (default: this host's). */
  async view(manifest: Manifest, env: string | undefined = this.env): Promise<ConfigView> {
    const schema = manifest.config?.schema;
    const [base, overlay] = await this.#stored(manifest.id, env);
    const fromEnv = env === this.env
      ? envConfig(manifest.id, schema, this.#variables)
      : { values: {}, names: [] };
    const effective = mergeConfig(
      manifest.config?.default,
      base?.values,
      overlay?.values,
      fromEnv.values,
    );
    return {
      pluginId: manifest.id,
      env: env ?? null,
      effective: redactConfig(effective, schema),
      default: redactConfig(mergeConfig(manifest.config?.default), schema),
      base: base && scopeView(base, schema),
      overlay: overlay && scopeView(overlay, schema),
      variables: fromEnv.names,
      schema: schema ?? null,
    };
  }

  /** Every stored version of a plugin's config (one scope when `env` is given; "" is the base), newest first, redacted. */
  async history(manifest: Manifest, env?: string): Promise<(ScopeView & { env: string | null })[]> {
    const versions = await this.store.config.history(manifest.id, env);
    return versions.map((v) => ({ env: v.env || null, ...scopeView(v, manifest.config?.schema) }));
  }

  /**
   * Validates and stores an operator's change of one scope as its next
   * version, and appends `plugin.config_changed`. Throws `invalid_config`
   * naming each failing field by JSON Pointer (nothing stored), or `conflict`
   * when another change of the same scope won the race.
   */
  async change(manifest: Manifest, request: ConfigChangeRequest): Promise<ConfigChanged> {
    const env = request.env ? checkEnvName(request.env) : "";
    const current = await this.store.config.latest(manifest.id, env);
    const before = current?.values ?? {};
    const next = request.edit(before);
    if (!isObject(next)) throw new HostError("invalid_input", "The config must be a JSON object");
    const fallback = manifest.config?.default;
    const fix = "nothing was stored";
    if (env === "") {
      assertConfig(manifest, mergeConfig(fallback, next), "The new config", fix);
      // The base is under every overlay: each environment's result must still be valid.
      for (const name of await this.store.config.overlays(manifest.id)) {
        const overlay = await this.store.config.latest(manifest.id, name);
        assertConfig(
          manifest,
          mergeConfig(fallback, next, overlay?.values),
          `The new config with the overlay of env ${name}`,
          fix,
        );
      }
    } else {
      const base = await this.store.config.latest(manifest.id, "");
      assertConfig(
        manifest,
        mergeConfig(fallback, base?.values, next),
        `The new config (env ${env})`,
        fix,
      );
    }
    const stored = await this.store.config.append({
      pluginId: manifest.id,
      env,
      values: next,
      changedBy: request.by,
      after: current?.version ?? 0,
    });
    const schema = manifest.config?.schema;
    const changed: ConfigChanged = {
      pluginId: manifest.id,
      env: env || null,
      version: stored.version,
      changed: changedKeys(before, next),
      values: redactConfig(next, schema),
      changedAt: stored.changedAt,
      changedBy: stored.changedBy,
    };
    await this.store.events.append({
      type: "plugin.config_changed",
      source: "host",
      pluginId: manifest.id,
      payload: {
        env: changed.env,
        version: changed.version,
        changed: changed.changed,
        values: changed.values,
        by: changed.changedBy,
      },
    });
    return changed;
  }

  async #stored(
    pluginId: string,
    env: string | undefined,
  ): Promise<[ConfigVersion | null, ConfigVersion | null]> {
    return await Promise.all([
      this.store.config.latest(pluginId, ""),
      env ? this.store.config.latest(pluginId, env) : Promise.resolve(null),
    ]);
  }
}

function scopeView(v: ConfigVersion, schema: Record<string, unknown> | undefined): ScopeView {
  return {
    version: v.version,
    values: redactConfig(v.values, schema),
    changedAt: v.changedAt,
    changedBy: v.changedBy,
  };
}

/** Dotted keys of the leaves that differ between two configs. */
export function changedKeys(a: unknown, b: unknown, prefix = ""): string[] {
  // An object added or removed as a whole counts by its leaves, as a changed one does.
  if (prefix !== "" && a === undefined && isObject(b)) a = {};
  if (prefix !== "" && b === undefined && isObject(a)) b = {};
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) =>
      changedKeys(
        Object.hasOwn(a, k) ? a[k] : undefined,
        Object.hasOwn(b, k) ? b[k] : undefined,
        prefix ? `${prefix}.${k}` : k,
      )
    );
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix];
}
