/**
 * Makes a module's whole mutable state visible to the host, so an instance
 * can be put back to its state right after instantiation instead of being
 * instantiated again for each strict run (docs/replay.md, "Strict runs").
 * The state of an instance is its memory, its mutable globals, its tables and
 * its dropped data segments: the memory must be exported (and be the only
 * one), the mutable globals are exported here under {@link STATE_GLOBAL_PREFIX},
 * and code that could change a table or drop a segment after the start
 * function rules it out. A module that qualifies gets the marker export
 * {@link RESETTABLE_EXPORT}; one that does not keeps fresh instances.
 * @module
 */
import binaryen from "./binaryen.ts";
import { RESETTABLE_EXPORT, STATE_GLOBAL_PREFIX } from "../reset.ts";
import { type KindIndex, WALK_EVERY_BODY } from "./kind-index.ts";

/** Instructions that change state a reset could not put back: tables and dropped segments. */
const UNRESETTABLE = new Set<number>([
  binaryen.TableSetId,
  binaryen.TableGrowId,
  binaryen.DataDropId,
]);

/**
 * Exports every defined mutable global and adds the marker when the rest of
 * the state is reachable; `memories` is how many memories the module declares,
 * `index` what the meter saw of each body. Returns whether it did.
 */
export function exposeState(
  m: binaryen.Module,
  memories: number,
  index: Pick<KindIndex, "holds"> = WALK_EVERY_BODY,
): boolean {
  if (memories > 1) return false;
  const exported = new Set<string>();
  let memoryExported = false;
  for (let i = 0; i < m.getNumExports(); i++) {
    const info = binaryen.getExportInfo(m.getExportByIndex(i));
    // Names the host would add: a module that has one already keeps fresh instances.
    if (info.name.startsWith(STATE_GLOBAL_PREFIX) || info.name === RESETTABLE_EXPORT) return false;
    if (info.kind === binaryen.ExternalGlobal) exported.add(info.value);
    if (info.kind === binaryen.ExternalMemory) memoryExported = true;
  }
  if (m.hasMemory() && (!memoryExported || m.getMemoryInfo().module)) return false;
  const start = m.getStart();
  for (let i = 0; i < m.getNumFunctions(); i++) {
    const func = m.getFunctionByIndex(i);
    // The start function runs before the state is taken: what it changes is the state.
    if (func === start) continue;
    const info = binaryen.getFunctionInfo(func);
    if (info.body !== 0 && index.holds(func, info.body, UNRESETTABLE)) return false;
  }
  const globals: string[] = [];
  for (let i = 0; i < m.getNumGlobals(); i++) {
    const info = binaryen.getGlobalInfo(m.getGlobalByIndex(i));
    if (!info.mutable) continue;
    // An imported mutable global is shared with its exporter: not this instance's to reset;
    // a v128 global cannot be read from JavaScript.
    if (info.module || info.type === binaryen.v128) return false;
    if (!exported.has(info.name)) globals.push(info.name);
  }
  globals.forEach((name, i) => m.addGlobalExport(name, `${STATE_GLOBAL_PREFIX}${i}`));
  m.addGlobal(RESETTABLE_EXPORT, binaryen.i32, false, m.i32.const(1));
  m.addGlobalExport(RESETTABLE_EXPORT, RESETTABLE_EXPORT);
  return true;
}
