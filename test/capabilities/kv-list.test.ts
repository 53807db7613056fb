/**
 * kv_list pages through the snapshot's sorted keys (binary search, no sort of
 * the namespace per call): the pages equal those of the plain definition
 * (filter by prefix and cursor, merge the call's writes, sort, slice) for
 * random namespaces, writes, deletes, prefixes, cursors and limits.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareUtf8 } from "../../host/capabilities/abi.ts";
import { KvView } from "../../host/capabilities/kv-view.ts";
import type { KvSnapshot } from "../../host/store/kv.ts";

function reference(
  base: string[],
  writes: Map<string, string | null>,
  prefix: string,
  cursor: string | null,
  limit: number,
) {
  const keys = new Set(base.filter((k) => k.startsWith(prefix)));
  for (const [k, v] of writes) {
    if (!k.startsWith(prefix)) continue;
    if (v === null) keys.delete(k);
    else keys.add(k);
  }
  const sorted = [...keys].filter((k) => cursor === null || compareUtf8(k, cursor) > 0)
    .sort(compareUtf8);
  const page = sorted.slice(0, limit);
  return { keys: page, cursor: sorted.length > limit ? page[page.length - 1]! : null };
}

const key = fc.stringMatching(/^[ab\u00e9\u{1f600}]{1,4}$/u);

describe("kv_list pages", () => {
  it("equal the plain definition (property)", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(key, { maxLength: 40 }),
        fc.array(fc.tuple(key, fc.boolean()), { maxLength: 15 }),
        fc.stringMatching(/^[ab\u00e9]{0,2}$/u),
        fc.option(key, { nil: null }),
        fc.integer({ min: 1, max: 8 }),
        (baseKeys, ops, prefix, cursor, limit) => {
          const entries = new Map(baseKeys.map((k) => [k, { value: "v", size: k.length + 1 }]));
          const base: KvSnapshot = { version: 1, entries, bytes: 0 };
          const view = new KvView("p", base, { quotaBytes: 1 << 30, maxKeys: 1 << 20 });
          for (const [k, del] of ops) {
            if (del) view.delete(k);
            else view.set(k, "w");
          }
          expect(view.list(prefix, cursor, limit)).toEqual(
            reference(baseKeys, new Map(view.writes), prefix, cursor, limit),
          );
          // The sorted keys are kept per snapshot version: a second page reads them again.
          expect(view.list(prefix, cursor, limit)).toEqual(
            reference(baseKeys, new Map(view.writes), prefix, cursor, limit),
          );
        },
      ),
      { numRuns: 2000 },
    );
  });

  // A commit moves the store's cached snapshot forward in place and names the keys it wrote
  // (KvSnapshot.changed): the sorted keys follow those alone instead of being sorted anew.
  it("stay right across commits to the same snapshot (property)", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(key, { maxLength: 40 }),
        fc.array(fc.array(fc.tuple(key, fc.boolean()), { maxLength: 12 }), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.stringMatching(/^[ab\u00e9]{0,2}$/u),
        fc.nat(5),
        (baseKeys, commits, prefix, skipListAt) => {
          const entries = new Map(baseKeys.map((k) => [k, { value: "v", size: k.length + 1 }]));
          const base: {
            version: number;
            entries: typeof entries;
            bytes: number;
            changed?: {
              from: number;
              keys: string[];
            };
          } = { version: 1, entries, bytes: 0 };
          const list = () =>
            new KvView("p", base, { quotaBytes: 1 << 30, maxKeys: 1 << 20 }).list(
              prefix,
              null,
              100,
            );
          list(); // the order of version 1, kept
          commits.forEach((ops, i) => {
            for (const [k, del] of ops) {
              if (del) entries.delete(k);
              else entries.set(k, { value: "w", size: k.length + 1 });
            }
            base.changed = { from: base.version, keys: ops.map(([k]) => k) };
            base.version++;
            // Sometimes no list between two commits: the order is then two versions behind.
            if (i === skipListAt) return;
            expect(list()).toEqual(reference([...entries.keys()], new Map(), prefix, null, 100));
          });
        },
      ),
      { numRuns: 1000 },
    );
  });
});
