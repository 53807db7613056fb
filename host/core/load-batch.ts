/**
 * Loading a batch of plugins at a host's start (installed ones, or a plugin
 * folder's): by dependency level, a bounded number at a time.
 * @module
 */
import { dependenciesOf } from "../deps/mod.ts";
import type { Manifest } from "../manifest/schema.ts";

/**
 * Plugin files read at once at most: every read holds a file descriptor while
 * it runs, and a host with thousands of plugins would otherwise pass a default
 * limit of 1,024 (EMFILE).
 */
export const READ_CONCURRENCY = 16;

/** Runs `fn` on every item, at most `limit` at a time; settles when all have. */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/**
 * `order` cut into levels: a plugin's level is one past the highest of its
 * dependencies that come before it in `order` (a dependency after it is one a
 * cycle set aside: it cannot be waited for). Each level loads after the one
 * before has settled.
 */
export function dependencyLevels(
  order: readonly string[],
  manifests: ReadonlyMap<string, Manifest | undefined>,
): string[][] {
  const levelOf = new Map<string, number>();
  const levels: string[][] = [];
  for (const id of order) {
    const manifest = manifests.get(id);
    let level = 0;
    for (const dep of manifest ? dependenciesOf(manifest) : []) {
      const before = levelOf.get(dep.id);
      if (before !== undefined) level = Math.max(level, before + 1);
    }
    levelOf.set(id, level);
    (levels[level] ??= []).push(id);
  }
  return levels;
}
