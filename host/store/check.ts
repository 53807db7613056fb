/**
 * One finding of `host doctor` (the checks live in doctor.ts and doctor-runs.ts).
 * @module
 */

/** One finding. `fail` makes doctor exit 1; `warn` exits 2 under --strict. */
export interface Check {
  name: string;
  status: "ok" | "warn" | "fail";
  detail: string;
}
