/**
 * Keeps a loaded plugin's Extism kernel config (what the PDKs' `Config.get`
 * reads) equal to its effective config. Extism fixes that config when an
 * instance starts, so a change needs fresh instances: the plugin's sandbox is
 * restarted once per change, every run that saw the change waits for that one
 * restart, and runs already inside the old sandbox finish there (it drains).
 * @module
 */
import { HostError } from "../errors.ts";
import { type ConfigValues, kernelConfig, kernelConfigKey } from "../plugin-config/mod.ts";

/** What the sync edits: the options the plugin's reload closure loads with. */
export interface KernelConfigTarget {
  config?: Record<string, string>;
}

/** One loaded plugin's kernel config; `apply` before each run. */
export class KernelConfigSync {
  readonly #target: KernelConfigTarget;
  readonly #restart: () => Promise<void>;
  readonly #pluginId: string;
  /** The newest config seq applied (-1: none known, e.g. the config failed at load). */
  #seq: number;
  #key: string;
  #pending: Promise<void> | undefined;

  /** `target.config` already holds `values` (seq `seq`): the sandbox was loaded with them. */
  constructor(
    pluginId: string,
    target: KernelConfigTarget,
    seq: number,
    restart: () => Promise<void>,
  ) {
    this.#pluginId = pluginId;
    this.#target = target;
    this.#seq = seq;
    this.#key = kernelConfigKey(target.config ?? {});
    this.#restart = restart;
  }

  /**
   * Makes the sandbox's kernel config that of `values` (the effective config
   * at `seq`): nothing when it is already (or a newer seq was applied), else
   * one restart, which concurrent callers share. Throws `host_error` when the
   * restart fails (the old sandbox stays; the next call of `apply` tries again).
   */
  async apply(values: ConfigValues, seq: number): Promise<void> {
    // One restart at a time; whoever comes after it checks again against what it applied.
    while (this.#pending) await this.#pending.catch(() => {});
    if (seq <= this.#seq) return;
    const next = kernelConfig(values);
    const key = kernelConfigKey(next);
    const previous = { seq: this.#seq, config: this.#target.config };
    this.#seq = seq;
    // A change that leaves the kernel's strings alone (another environment's overlay, say) costs nothing.
    if (key === this.#key) return;
    this.#target.config = next;
    this.#pending = this.#restart().then(
      () => {
        this.#key = key;
      },
      (error: unknown) => {
        this.#seq = previous.seq;
        this.#target.config = previous.config;
        throw new HostError(
          "host_error",
          `Plugin '${this.#pluginId}' could not restart with its changed config (${
            error instanceof Error ? error.message : String(error)
          }); this run did not start, the next one tries again`,
        );
      },
    ).finally(() => {
      this.#pending = undefined;
    });
    await this.#pending;
  }
}
