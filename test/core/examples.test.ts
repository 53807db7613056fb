/**
 * Every public export of host/mod.ts carries a runnable `@example`, and this
 * test runs each one as written: it reads the export list of host/mod.ts,
 * finds each export's doc comment in the file it comes from, extracts the
 * ```ts block(s) after `@example`, and imports them as modules with every
 * export of host/mod.ts in scope. An export without an example, or an example
 * that throws (they assert with node:assert), fails here, so the docs cannot drift.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/cli.ts";

const modPath = join(repoRoot, "host", "mod.ts");

/** `name -> source file` for every export of host/mod.ts, and which ones are values. */
function publicExports(): { name: string; file: string; type: boolean }[] {
  const text = readFileSync(modPath, "utf8");
  const out: { name: string; file: string; type: boolean }[] = [];
  for (const m of text.matchAll(/export\s+(type\s+)?\{([^}]*)\}\s+from\s+"([^"]+)"/g)) {
    for (const raw of m[2]!.split(",").map((s) => s.trim()).filter(Boolean)) {
      const type = m[1] !== undefined || raw.startsWith("type ");
      out.push({ name: raw.replace(/^type\s+/, ""), file: resolve(dirname(modPath), m[3]!), type });
    }
  }
  return out;
}

/** The ```ts blocks of the `@example` in the doc comment right above `name`'s declaration. */
export function examplesOf(source: string, name: string): string[] {
  const decl = new RegExp(
    `^export (?:declare )?(?:async )?(?:function|interface|type|class|const) ${name}\\b`,
    "m",
  ).exec(source);
  if (!decl) return [];
  const before = source.slice(0, decl.index).trimEnd();
  if (!before.endsWith("*/")) return [];
  const doc = before.slice(before.lastIndexOf("/**"));
  const lines = doc.split("\n").map((l) => l.replace(/^\s*\*( |$)/, ""));
  const text = lines.join("\n");
  const at = text.indexOf("@example");
  if (at < 0) return [];
  return [...text.slice(at).matchAll(/```ts\n([\s\S]*?)```/g)].map((b) => b[1]!);
}

const exports = publicExports();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(repoRoot, "test", "core", ".examples-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("host/mod.ts examples", () => {
  it("exports something, each export found in its file", () => {
    expect(exports.map((e) => e.name)).toContain("createHost");
  });

  for (const entry of exports) {
    it(`${entry.name} has a runnable @example`, async () => {
      const examples = examplesOf(readFileSync(entry.file, "utf8"), entry.name);
      expect(examples, `${entry.name} in ${entry.file} has no @example`).not.toHaveLength(0);
      const values = exports.filter((e) => !e.type).map((e) => e.name);
      const types = exports.filter((e) => e.type).map((e) => e.name);
      const url = pathToFileURL(modPath).href;
      for (const [i, example] of examples.entries()) {
        // Imports the example writes come first, then every export of host/mod.ts.
        const imports = example.split("\n").filter((l) => l.startsWith("import "));
        const body = example.split("\n").filter((l) => !l.startsWith("import ")).join("\n");
        const file = join(dir, `${entry.name}-${i}.ts`);
        await writeFile(
          file,
          [
            ...imports,
            `import { ${values.join(", ")} } from ${JSON.stringify(url)};`,
            `import type { ${types.join(", ")} } from ${JSON.stringify(url)};`,
            body,
            "export {};",
          ].join("\n"),
        );
        await import(pathToFileURL(file).href);
      }
    }, 60_000);
  }
});
