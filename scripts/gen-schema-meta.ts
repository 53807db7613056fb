/**
 * Writes host/manifest/schema-meta.gen.ts (schema-meta-source.ts).
 * Usage: node scripts/run-ts.mjs scripts/gen-schema-meta.ts [--check]
 * With --check, writes nothing and exits 1 when the committed file is stale.
 * @module
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { SCHEMA_META_PATH, schemaMetaSource } from "./schema-meta-source.ts";

// run-ts.mjs bundles this file into build/.run-*/, so locate the repository from the cwd.
const target = join(process.cwd(), SCHEMA_META_PATH);
const text = schemaMetaSource();
const current = await readFile(target, "utf8").catch(() => "");
if (current !== text) {
  if (process.argv.includes("--check")) {
    process.stderr.write(
      `${SCHEMA_META_PATH} is stale: run node scripts/run-ts.mjs scripts/gen-schema-meta.ts\n`,
    );
    process.exit(1);
  }
  await writeFile(target, text);
}
