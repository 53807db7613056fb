/**
 * Writes the JSON Schemas generated from the zod schemas into schemas/.
 * Usage: node scripts/run-ts.mjs scripts/gen-schemas.ts [--check]
 * With --check, writes nothing and exits 1 when a committed file is stale.
 * @module
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import process from "node:process";
import { routeJsonSchemaTexts } from "../host/core/routes.ts";
import { contractJsonSchemaText, CONTRACTS } from "../host/contracts/mod.ts";
import { manifestJsonSchemaText } from "../host/manifest/json-schema.ts";
import { policyJsonSchemaText } from "../host/policy/json-schema.ts";

// run-ts.mjs bundles this file into build/.run-*/, so locate the repository from the cwd.
const root = process.cwd();
const files: Record<string, string> = {
  "schemas/manifest.schema.json": manifestJsonSchemaText(),
  "schemas/policy.schema.json": policyJsonSchemaText(),
  "schemas/route-request.schema.json": routeJsonSchemaTexts().request,
  "schemas/route-response.schema.json": routeJsonSchemaTexts().response,
  // One file per standard contract (docs/contracts.md).
  ...Object.fromEntries(
    [...CONTRACTS].map((
      [id, c],
    ) => [`schemas/contracts/${id}.schema.json`, contractJsonSchemaText(c)]),
  ),
};
const check = process.argv.includes("--check");
let stale = 0;
for (const [path, text] of Object.entries(files)) {
  const target = join(root, path);
  const current = await readFile(target, "utf8").catch(() => "");
  if (current === text) continue;
  if (check) {
    process.stderr.write(`${path} is stale: run node scripts/run-ts.mjs scripts/gen-schemas.ts\n`);
    stale++;
  } else {
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, text);
    process.stdout.write(`wrote ${path}\n`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
