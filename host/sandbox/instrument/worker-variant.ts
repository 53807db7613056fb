/**
 * {@link workerVariant}: the worker-mode form of an instrumented module, made
 * from its metered bytes when a plugin first needs a worker. Most plugins never
 * do, and emitting this form for every load cost ~20% of instrumenting
 * (a second binaryen emit): a cold start of many plugins paid it for nothing.
 * @module
 */
import binaryen from "./binaryen.ts";
import { HostError } from "../../errors.ts";
import { readSections, SectionId } from "../../artifact/mod.ts";
import { addFuelAccessorTo } from "../fuel-accessor.ts";
import { addRestoreTo } from "../worker-restore.ts";
import { addRefuelTo } from "../worker-refuel.ts";
import { addHostCallStopsTo } from "../worker-stop.ts";
import { addCallReportsTo } from "../worker-report.ts";
import { pagesSeen } from "../worker-bulk.ts";
import { WORKER_SLICE_FUEL } from "../worker-refuel.ts";
import { emit, read, tooDeep, WIDE_FEATURES } from "./binaryen-io.ts";
import { restoreCustomSections } from "./memory.ts";
import { FUEL_EXPORT } from "./meter.ts";

/**
 * The worker variant of `metered` (bytes `instrument` returned with metering
 * on): the same module plus the fuel accessor and the worker-side bulk copies
 * (fuel-accessor.ts), exports that report their fuel (worker-report.ts) and,
 * for a resettable module, `plughost_restore`
 * (worker-restore.ts). The added code is not metered; the metering already in
 * `metered` is kept instruction for instruction, so a call charges the same
 * fuel in either form. Deterministic for the same input.
 * Throws `HostError` `load_error` when `metered` has no fuel global.
 */
export function workerVariant(metered: Uint8Array): Uint8Array {
  const sections = readSections(metered);
  const hasTargetFeatures = sections.some((s) =>
    s.id === SectionId.custom && s.name === "target_features"
  );
  const m = read(metered, "worker mode");
  let bytes: Uint8Array;
  try {
    if (!m.getExport(FUEL_EXPORT)) {
      throw new HostError(
        "load_error",
        `Worker mode needs a metered module (it exports no "${FUEL_EXPORT}")`,
      );
    }
    // As instrument() emits: a target_features section is written back from the features.
    if (!hasTargetFeatures) m.setFeatures(m.getFeatures() | WIDE_FEATURES);
    const fuel = binaryen.getExportInfo(m.getExport(FUEL_EXPORT)).value;
    // Each call brings its fuel report back itself, and arms a slice for the next (worker-report.ts).
    addCallReportsTo(binaryen, m, fuel, () => pagesSeen(binaryen, m), WORKER_SLICE_FUEL);
    addFuelAccessorTo(binaryen, m, FUEL_EXPORT);
    // Fuel a slice at a time, so a long call can be paced (worker-refuel.ts).
    addRefuelTo(binaryen, m, fuel);
    // A call past its deadline stops at its next host-function call (worker-stop.ts).
    addHostCallStopsTo(binaryen, m);
    addRestoreTo(binaryen, m);
    bytes = restoreCustomSections(metered, emit(m));
  } catch (error) {
    throw tooDeep(error) ?? error;
  } finally {
    m.dispose();
  }
  if (!WebAssembly.validate(bytes as BufferSource)) {
    throw new HostError(
      "load_error",
      "Making the worker-mode variant produced an invalid module (a host bug); report it with " +
        "the plugin",
    );
  }
  return bytes;
}
