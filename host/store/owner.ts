/**
 * Who owns a running run: host name, process id and store instance. On open,
 * a run still `running` is marked `interrupted` only when its owner is gone,
 * so `host runs` next to a live `host serve` never cuts the server's runs.
 * @module
 */
import { hostname } from "node:os";
import process from "node:process";

/** The identity recorded on runs this process starts through one open store. */
export interface Owner {
  hostName: string;
  pid: number;
  instance: string;
}

/** Store instances open in this process (a process may open the database twice). */
const liveInstances = new Set<string>();

/** Registers a new store instance of this process. */
export function claimOwner(instance: string): Owner {
  liveInstances.add(instance);
  return { hostName: hostname(), pid: process.pid, instance };
}

/** Forgets a closed store instance. */
export function releaseOwner(owner: Owner): void {
  liveInstances.delete(owner.instance);
}

/**
 * Whether the owner of a run is certainly gone. Owners on other machines
 * (a shared libSQL server) cannot be checked from here and count as alive.
 */
export function ownerIsGone(self: Owner, run: Owner): boolean {
  if (run.hostName !== self.hostName) return false;
  if (run.pid === self.pid) return !liveInstances.has(run.instance);
  try {
    process.kill(run.pid, 0);
    return false;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as { code?: string }).code === "ESRCH";
  }
}
