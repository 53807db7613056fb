/**
 * Extism's worker protocol sends the instance's block table across the thread
 * with every host call: the worker's part comes with the call, and the host's
 * answer goes back through a shared ring, entry by entry (a byte, two u32s,
 * each a fresh scratch copy). A freed block leaves a null slot that is never
 * reused during a call, and Extism exports every null slot each time, in both
 * directions. So the n-th host call of a call that frees its blocks (every
 * PDK does, two a call) wrote ~2n entries back: 1,000 host calls in one worker
 * call took 6.5 s, 2,000 took 28 s, nearly all of it the host's thread writing
 * nulls the worker had sent it a moment before.
 *
 * The host's side now leaves out of its answer the null slots the worker's
 * own state just listed as null: the worker's table already has them. A slot
 * the host function freed is still sent (the worker had it live). The record
 * of what the worker sent lives from Extism's import of that state to its next
 * export, and a reset of the table drops it (slot numbers start over). Only
 * contexts whose host calls come through the host-call gate are trimmed: it
 * hands a host call to Extism only after the last answer's handshake is over
 * (invoke-gate.ts), without which answers of equal length stall. The record
 * assumes the same worker on the other side: Extism resets the table when it
 * replaces its worker, and the sandbox never gives a context a new worker
 * (a restart is a new plugin, with a new context).
 * @module
 */

/** One block-table entry as Extism exchanges it: the bytes (null: freed) and the slot. */
type Entry = readonly [ArrayBuffer | null, number];

interface TableState {
  blocks: Entry[];
}

type Method = (this: object, ...args: unknown[]) => unknown;

/** Per call context: the slots the worker last said are null (1 at each such slot). */
const nullsSent = new WeakMap<object, Uint8Array>();

/** Block slots a table can have: Extism's addresses carry the slot in their top 16 bits. */
const MAX_SLOTS = 1 << 16;

/** The contexts whose answers are trimmed. */
const trimmed = new WeakSet<object>();

let installed: boolean | undefined;

function isState(value: unknown): value is TableState {
  return typeof value === "object" && value !== null &&
    Array.isArray((value as { blocks?: unknown }).blocks);
}

/**
 * Trims the answers of Extism's call context `context` (the host's side of a
 * worker plugin whose host calls come through the gate), installing the
 * trimming on its class the first time (every plugin of this process shares
 * the class). False when the context is not shaped as expected (another
 * Extism version): then nothing changes and answers carry every entry.
 */
export function trimEchoedNulls(context: object): boolean {
  if (install(context)) trimmed.add(context);
  return installed === true;
}

function install(context: object): boolean {
  if (installed !== undefined) return installed;
  const proto = Object.getPrototypeOf(context) as Record<symbol, unknown> | null;
  const symbols = proto ? Object.getOwnPropertySymbols(proto) : [];
  const method = (name: string) => {
    const key = symbols.find((s) => s.description === name);
    const fn = key === undefined ? undefined : proto![key];
    return key !== undefined && typeof fn === "function" ? { key, fn: fn as Method } : undefined;
  };
  const imports = method("import-state");
  const exports = method("export-state");
  const reset = method("reset");
  if (!proto || !imports || !exports || !reset) return (installed = false);
  proto[imports.key] = function (this: object, state: unknown, ...rest: unknown[]) {
    if (trimmed.has(this) && isState(state)) {
      // A byte per slot, not a Set: this runs on every host call, over every freed slot.
      let top = -1;
      for (const entry of state.blocks) {
        if (entry && entry[0] === null && entry[1] > top) top = entry[1];
      }
      // Slots are block indices (at most 2^16: an address's top 16 bits); anything else is not
      // Extism's table as known here, and is passed on untouched.
      if (!(top < MAX_SLOTS)) {
        nullsSent.delete(this);
        return imports.fn.call(this, state, ...rest);
      }
      const nulls = new Uint8Array(top + 1);
      for (const entry of state.blocks) if (entry && entry[0] === null) nulls[entry[1]] = 1;
      nullsSent.set(this, nulls);
    } else {
      nullsSent.delete(this);
    }
    return imports.fn.call(this, state, ...rest);
  };
  proto[exports.key] = function (this: object, ...args: unknown[]) {
    const state = exports.fn.apply(this, args);
    const nulls = nullsSent.get(this);
    nullsSent.delete(this);
    if (nulls !== undefined && nulls.length > 0 && isState(state)) {
      state.blocks = state.blocks.filter((entry) => entry[0] !== null || nulls[entry[1]] !== 1);
    }
    return state;
  };
  proto[reset.key] = function (this: object, ...args: unknown[]) {
    nullsSent.delete(this);
    return reset.fn.apply(this, args);
  };
  return (installed = true);
}
