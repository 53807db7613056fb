/**
 * Per-plugin instance pool: at most `concurrency` calls run at once, at most
 * `queue` wait; past that a call fails fast with `busy`. Instances that
 * failed (trap, fuel, memory, timeout) or served `recycleAfter` calls are
 * closed and replaced by fresh ones from the cached module. A call that must
 * see no earlier call's state gets an idle instance reset to its state right
 * after instantiation, or a new one when none can be.
 * @module
 */
import { SandboxAbort } from "./classify.ts";
import type { Fitness, Instance } from "./instance.ts";
import type { Gate } from "./restart-gate.ts";
import { withLongestStall } from "./stall-meter.ts";
import type { Interruption } from "./types.ts";

/** Pool sizing. */
export interface PoolOptions {
  concurrency: number;
  queue: number;
  recycleAfter: number;
  /** Where instances that replace retired ones wait for a turn (worker pools: restart-gate.ts). */
  restarts?: Gate;
  /** The pool replaces one that was closed: its first instance is a restart too. */
  replacing?: boolean;
}

/** A bounded pool of instances of one plugin. */
export class InstancePool {
  private readonly idle: Instance[] = [];
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  private closed = false;
  /** Instances made so far (the first one included). */
  created = 0;
  /** Instances retired and not replaced yet: the next makes are restarts. */
  private unreplaced = 0;

  constructor(
    private readonly create: () => Promise<Instance>,
    private readonly options: PoolOptions,
    first?: Instance,
  ) {
    if (options.replacing) this.unreplaced = 1;
    if (first) {
      this.idle.push(first);
      this.created++;
    }
  }

  /**
   * Runs `fn` with an instance; `fn` says whether the instance may be reused.
   * `fresh`: on an instance in its state right after instantiation (reset, or
   * new), so no state of earlier calls (heap, globals, Extism vars) can change
   * this one (strict determinism, docs/replay.md).
   */
  async use<T>(
    fn: (
      instance: Instance,
    ) => Promise<{ value: T; healthy: Fitness; settling?: Promise<boolean> | undefined }>,
    fresh = false,
  ): Promise<T> {
    await this.acquireSlot();
    let instance: Instance | undefined;
    // Until the call has its instance (busy) or failed, an interrupting close() waits for it (a
    // count, not a promise: nothing is made per call on the common path).
    let acquiring = true;
    this.#acquiring++;
    try {
      if (this.closed) throw this.#closedError();
      // No await on the common path (an idle instance, no reset): every in-process call runs here.
      instance = fresh ? await this.pristine() : this.idle.pop();
      // One finishing its work after its answer is back in ~0.1 ms; a new worker takes 35-60 ms.
      while (instance === undefined && this.settling.size > 0) {
        await Promise.race(this.settling);
        if (this.closed) throw this.#closedError();
        instance = fresh ? await this.pristine() : this.idle.pop();
      }
      instance ??= await this.make();
      if (this.owing.delete(instance)) await this.turn();
      // The host closed while this call was being given an instance (made, reset): not started.
      if (this.#interrupting) throw this.#interruptReason;
      this.busy.add(instance);
      acquiring = false;
      this.#acquired();
      const { value, healthy, settling } = await fn(instance);
      if (settling !== undefined) {
        // The caller has its value now, and the slot is free (a caller that calls again at once
        // is no queued call); the instance comes back once its work is done, and meanwhile a
        // call that finds none idle waits for it rather than making another (above).
        const back = this.afterSettling(instance, settling);
        this.settling.add(back);
        void back.finally(() => this.settling.delete(back));
        return value;
      }
      // After a trap, a reset (a page copy on the main thread, one round trip to a worker) keeps
      // the instance: a plugin that runs out of fuel call after call costs no restarts, which on
      // Deno hold the host's thread for tens of ms each (docs/sandbox.md, rule 9).
      const kept = healthy === "reset" || healthy === "paced"
        ? await this.resets(instance)
        : healthy;
      if (kept && instance.calls < this.options.recycleAfter && !this.closed) {
        // Its next call waits for the restart gate as a replacement's would (sandbox.md, rule 9).
        if (healthy === "paced" && this.options.restarts) this.owing.add(instance);
        this.idle.push(instance);
      } else {
        this.retire(instance);
      }
      return value;
    } catch (error) {
      if (instance) this.retire(instance);
      throw error;
    } finally {
      if (acquiring) this.#acquired();
      if (instance) this.#ended(instance);
      this.releaseSlot();
    }
  }

  /** Calls between their slot and their instance (see `use`), and who waits for there to be none. */
  #acquiring = 0;
  #noneAcquiring: Array<() => void> = [];

  #acquired(): void {
    if (--this.#acquiring > 0) return;
    for (const resolve of this.#noneAcquiring.splice(0)) resolve();
  }

  /** Instances whose call is running (from when it has its instance to `fn`'s answer). */
  private readonly busy = new Set<Instance>();
  /** Calls an interrupting close() ended: each settles once its call has answered. */
  private readonly interrupted = new Map<Instance, { answered: Promise<void>; resolve(): void }>();

  #ended(instance: Instance): void {
    this.busy.delete(instance);
    this.interrupted.get(instance)?.resolve();
    this.interrupted.delete(instance);
  }

  /** Set by an interrupting close(). */
  #interrupting = false;
  /** What the calls an interrupting close() ends fail with (its `Interruption`, or the host closing). */
  #interruptReason = new SandboxAbort(
    "not_ready",
    "The host closed while this call ran; try the call again",
  );
  /** What a call that finds the pool closed fails with: the interruption's reason, if any. */
  #closedError(): SandboxAbort {
    return this.#interrupting
      ? this.#interruptReason
      : new SandboxAbort("host_error", "The plugin was closed");
  }

  /** Settles at an interrupting close(): calls waiting for a restart turn stop waiting. */
  #closeSignal: { promise: Promise<void>; resolve(): void } | undefined;
  /** Retired instances still closing. */
  private readonly retiring = new Set<Promise<void>>();

  /** Instances still at work after their answer (see `afterSettling`), until they are back. */
  private readonly settling = new Set<Promise<void>>();

  /** Takes `instance` back (or retires it) once its `settling` work is over. */
  private async afterSettling(instance: Instance, settling: Promise<boolean>): Promise<void> {
    const fit = await settling.catch(() => false);
    if (this.closed) {
      // close() waits for this: its caller is told the instance is gone only once it is.
      await instance.close().catch(() => {});
    } else if (fit && instance.calls < this.options.recycleAfter) {
      this.idle.push(instance);
    } else {
      this.retire(instance);
    }
  }

  /** Whether the instance went back to its first state (false: it cannot, or failed to). */
  private async resets(instance: Instance): Promise<boolean> {
    try {
      const reset = instance.reset();
      return reset === true || (reset !== false && await reset);
    } catch {
      return false;
    }
  }

  /** An idle instance reset to its first state; those that cannot be are retired. */
  private async pristine(): Promise<Instance | undefined> {
    for (let instance = this.idle.pop(); instance; instance = this.idle.pop()) {
      if (await this.resets(instance)) return instance;
      this.retire(instance);
    }
    return undefined;
  }

  /** Instances kept by a reset where a retirement would have been paced: they owe a turn. */
  private readonly owing = new WeakSet<Instance>();

  /** A turn of the restart gate: for a restart, or an instance that owes one. */
  private async turn(): Promise<void> {
    const wait = this.options.restarts?.admit(this);
    if (wait) {
      this.#closeSignal ??= (() => {
        let resolve = () => {};
        const promise = new Promise<void>((r) => (resolve = r));
        return { promise, resolve };
      })();
      // An interrupting close() does not wait for the gate (the turn, when it comes, is unused).
      await Promise.race([wait, this.#closeSignal.promise]);
    }
    if (this.#interrupting) throw this.#interruptReason;
    if (this.closed) throw this.#closedError();
  }

  private async make(): Promise<Instance> {
    const gate = this.options.restarts;
    const restart = this.unreplaced > 0 && gate !== undefined;
    if (restart) {
      this.unreplaced--;
      await this.turn();
    }
    this.created++;
    if (!restart || !gate.held) return await this.create();
    // A restart pays for how long it held the host's thread (restart-gate.ts).
    const { value, stallMs } = await withLongestStall(this.create);
    gate.held(stallMs, this);
    return value;
  }

  private retire(instance: Instance): void {
    this.unreplaced++;
    const closing = instance.close().catch(() => {});
    this.retiring.add(closing);
    void closing.finally(() => this.retiring.delete(closing));
  }

  /** Calls running plus calls waiting. */
  get load(): number {
    return this.active + this.waiters.length;
  }

  /**
   * Closes idle instances now, and those still at work after their answer once
   * that work is over (it resolves then); busy ones are closed when their call
   * ends. With `interrupt`, calls running on instances that can be
   * interrupted (workers) end at once, calls still being given an instance
   * fail the same way, and it resolves once all of them have answered and
   * their instances are closed: as `not_ready` for `true` (the host is
   * closing), or with the code and message of an {@link Interruption} (a
   * revoked signer). Without it (an upgrade, an unload) calls in flight run to
   * their own end, as before.
   */
  async close(options: { interrupt?: boolean | Interruption } = {}): Promise<void> {
    this.closed = true;
    const idle = this.idle.splice(0);
    const waits: Promise<unknown>[] = [
      ...idle.map((i) => i.close().catch(() => {})),
      ...this.settling,
    ];
    if (options.interrupt) {
      // A call still running in a worker is ended, not left to run to its timeout: on Deno a
      // spinning one went on for tens of seconds after the host had closed.
      if (typeof options.interrupt === "object" && !this.#interrupting) {
        this.#interruptReason = new SandboxAbort(options.interrupt.code, options.interrupt.message);
      }
      this.#interrupting = true;
      this.#closeSignal?.resolve();
      if (this.#acquiring > 0) {
        await new Promise<void>((resolve) => this.#noneAcquiring.push(resolve));
      }
      for (const instance of this.busy) {
        if (!instance.interrupt || this.interrupted.has(instance)) continue;
        let resolve = () => {};
        const answered = new Promise<void>((r) => (resolve = r));
        this.interrupted.set(instance, { answered, resolve });
        instance.interrupt(this.#interruptReason);
      }
      // A second close() waits for the same calls as the first.
      waits.push(...[...this.interrupted.values()].map((i) => i.answered));
    }
    await Promise.all(waits);
    if (options.interrupt) await Promise.all(this.retiring);
  }

  private acquireSlot(): Promise<void> {
    if (this.active < this.options.concurrency) {
      this.active++;
      return Promise.resolve();
    }
    if (this.waiters.length >= this.options.queue) {
      return Promise.reject(
        new SandboxAbort(
          "busy",
          `The plugin is busy: ${this.active} calls running and ${this.waiters.length} waiting; retry later`,
        ),
      );
    }
    // The slot passes straight from the releasing call to the waiter.
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private releaseSlot(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.active--;
  }
}
