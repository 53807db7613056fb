/**
 * A trust store that follows its directory while the host runs: `fs.watch`
 * for prompt notice, plus a periodic comparison of the directory's state
 * (names, sizes, modification times) because watchers miss events on some
 * file systems and editors replace files by rename. `refresh()` also runs on
 * demand (SIGHUP, before an upload is verified). A damaged file keeps the
 * last good store and is reported; it never empties the store.
 * @module
 */
import { type FSWatcher, watch } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { loadTrustStore, type TrustedKey, type TrustStore } from "./store.ts";

/** What changed between two loads. */
export interface TrustChange {
  /** Key ids newly revoked, removed from the store, or newly expired. */
  untrusted: string[];
  /** Key ids newly trusted. */
  trusted: string[];
}

/** Options of `watch`. */
export interface WatchOptions {
  /** Period of the state comparison in ms (default 1000). */
  intervalMs?: number;
  onChange(change: TrustChange, store: LiveTrustStore): void | Promise<void>;
  /** A reload that failed (damaged file); the previous store stays in force. */
  onError?(error: Error): void;
}

/** A TrustStore whose keys and revocations are replaced when its directory changes. */
export class LiveTrustStore implements TrustStore {
  readonly path: string;
  #current: TrustStore;
  #state = "";
  /** The directory state whose load failed, so a damaged store is reported once, not every tick. */
  #failedState: string | undefined;
  #watcher: FSWatcher | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<TrustChange | undefined> | undefined;
  #options: WatchOptions | undefined;

  private constructor(current: TrustStore, state: string) {
    this.path = current.path;
    this.#current = current;
    this.#state = state;
  }

  /** Loads the store at `path` (throws like loadTrustStore). */
  static async open(path: string): Promise<LiveTrustStore> {
    const state = await directoryState(path);
    return new LiveTrustStore(await loadTrustStore(path), state);
  }

  get keys(): ReadonlyMap<string, TrustedKey> {
    return this.#current.keys;
  }

  get revoked(): ReadonlyMap<string, string> {
    return this.#current.revoked;
  }

  /** Whether `keyId` is trusted now: in the store, not revoked, not expired at `now`. */
  trusts(keyId: string, now = new Date()): boolean {
    const key = this.#current.keys.get(keyId);
    return key !== undefined && !this.#current.revoked.has(keyId) &&
      (key.expires === undefined || now.getTime() < key.expires.getTime());
  }

  /**
   * Reloads when the directory changed since the last load (or always with
   * `force`); resolves with what changed, undefined when nothing did. A
   * damaged store rejects and keeps the previous one.
   */
  refresh(force = false): Promise<TrustChange | undefined> {
    // One reload at a time; a caller arriving during one waits for it and then checks again.
    const run = (this.#running ?? Promise.resolve(undefined)).catch(() => undefined)
      .then(() => this.#reload(force));
    this.#running = run;
    return run;
  }

  /** Starts watching; `close` stops. */
  watch(options: WatchOptions): void {
    this.#options = options;
    const poke = () => {
      this.refresh().then((change) => {
        if (change) return options.onChange(change, this);
      }).catch((error: unknown) => {
        options.onError?.(error instanceof Error ? error : new Error(String(error)));
      });
    };
    try {
      this.#watcher = watch(this.path, { persistent: false }, poke);
      this.#watcher.on("error", () => this.#watcher?.close());
    } catch {
      // A missing directory cannot be watched; the periodic check notices it appearing.
    }
    this.#timer = setInterval(poke, options.intervalMs ?? 1000);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** Runs `refresh` and reports a change to the watcher's `onChange` (SIGHUP). */
  async reloadNow(): Promise<TrustChange | undefined> {
    const change = await this.refresh(true);
    if (change) await this.#options?.onChange(change, this);
    return change;
  }

  /** Stops watching. */
  close(): void {
    this.#watcher?.close();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#watcher = undefined;
    this.#timer = undefined;
  }

  async #reload(force: boolean): Promise<TrustChange | undefined> {
    const state = await directoryState(this.path);
    if (!force && (state === this.#state || state === this.#failedState)) return undefined;
    let next: TrustStore;
    try {
      next = await loadTrustStore(this.path);
    } catch (error) {
      this.#failedState = state;
      throw error;
    }
    this.#failedState = undefined;
    const before = this.#current;
    const now = new Date();
    const wasTrusted = [...before.keys.keys()].filter((id) => this.trusts(id, now));
    this.#current = next;
    this.#state = state;
    const isTrusted = new Set([...next.keys.keys()].filter((id) => this.trusts(id, now)));
    const untrusted = wasTrusted.filter((id) => !isTrusted.has(id));
    const trusted = [...isTrusted].filter((id) => !wasTrusted.includes(id));
    return untrusted.length + trusted.length > 0 || force ? { untrusted, trusted } : undefined;
  }
}

/** A fingerprint of the directory: each entry's name, size and mtime; "" when it is missing. */
async function directoryState(path: string): Promise<string> {
  let names: string[];
  try {
    names = (await readdir(path)).sort();
  } catch {
    return "";
  }
  const parts = await Promise.all(names.map(async (name) => {
    try {
      const s = await stat(join(path, name));
      return `${name}:${s.size}:${s.mtimeMs}`;
    } catch {
      return `${name}:gone`;
    }
  }));
  return parts.join("|");
}
