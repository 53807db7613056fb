/**
 * {@link KindIndex}: which expression kinds each function body holds, as the
 * meter's first walk saw them. The passes after metering that only ask
 * whether a function holds some kind (state.ts: table writes, data drops;
 * virtual-memory.ts: memory.size and memory.grow) read it instead of walking
 * every body again: each of those two walks took ~1.4 ms of a ~17 ms
 * instrumentation of a 42 KB plugin.
 * @module
 */
import binaryen from "./binaryen.ts";
import { containsKind, type Expr } from "./walk.ts";

/** One past the largest expression kind id binaryen has. */
const KIND_LIMIT = 1 +
  Math.max(
    ...Object.entries(binaryen).filter(([key, value]) =>
      key.endsWith("Id") && typeof value === "number"
    ).map(([, value]) => value as number),
  );

/** The kinds one body holds: a flag per kind id, set by {@link KindIndex.see}. */
export type KindFlags = Uint8Array;

/**
 * Records what the meter saw. Sound only for kinds no pass in between adds or
 * removes: metering, write tracking and the virtual memory add none of the
 * kinds asked about (tables, segments, memory size), and change no body of a
 * function they do not walk. A function recorded nowhere (added after the
 * meter's walk: leaf copies, wrappers, helpers) is walked when asked about.
 */
export class KindIndex {
  readonly #flags = new Map<number, KindFlags>();

  /** Flags for `func`'s body, filled by the caller's walk through {@link see}. */
  open(func: number): KindFlags {
    const flags = new Uint8Array(KIND_LIMIT);
    this.#flags.set(func, flags);
    return flags;
  }

  /** Notes one expression of kind `kind`. */
  static see(flags: KindFlags, kind: number): void {
    flags[kind] = 1;
  }

  /** Whether `func` (whose body is `body`) holds an expression of one of `kinds`. */
  holds(func: number, body: Expr, kinds: ReadonlySet<number>): boolean {
    const flags = this.#flags.get(func);
    if (flags === undefined) return containsKind(body, kinds);
    for (const kind of kinds) if (flags[kind] === 1) return true;
    return false;
  }
}

/** For a module no walk recorded: every question is answered by walking the body. */
export const WALK_EVERY_BODY: Pick<KindIndex, "holds"> = {
  holds: (_func, body, kinds) => containsKind(body, kinds),
};
