/**
 * The policy at load time: every load (install, upload, start-up, a plugins
 * directory) asks `admitter(policy)` whether the manifest fits and which
 * limits apply. Refused plugins never load; clamped ones load with less.
 * @module
 */
import { HostError } from "../errors.ts";
import type { Manifest } from "../manifest/mod.ts";
import type { Limits } from "../sandbox/limits.ts";
import { capLimits, checkManifest, describeExcesses } from "./check.ts";
import type { Policy } from "./schema.ts";

/** A load-time check: throws HostError permission_denied (with `details.excesses`) or returns the limits to apply. */
export function admitter(
  policy: Policy,
  source = "the operator policy",
): (manifest: Manifest, requested: Partial<Limits>) => Partial<Limits> {
  return (manifest, requested) => {
    const report = checkManifest(policy, manifest);
    if (!report.admitted) {
      const clampNote = report.mode === "clamp"
        ? " (clamp mode cannot lower these)"
        : "; ask for less, or raise the policy for this plugin id (docs/policy.md)";
      throw new HostError(
        "permission_denied",
        `Plugin '${manifest.id}' ${manifest.version} asks for more than ${source} allows: ${
          describeExcesses(report)
        }${clampNote}`,
        { details: { excesses: report.excesses, mode: report.mode } },
      );
    }
    return capLimits(policy, manifest.id, requested).applied;
  };
}
