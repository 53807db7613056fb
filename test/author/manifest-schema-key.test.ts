// A manifest may name its JSON Schema in "$schema" (for editors); the host ignores that key and
// still refuses any other unknown one.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseManifest } from "../../host/manifest/mod.ts";
import { repoRoot } from "../helpers/cli.ts";

const manifest = {
  $schema: "./manifest.schema.json",
  schemaVersion: 1,
  id: "example.schema-key",
  version: "1.0.0",
  name: "Schema key",
  engines: { host: "^0.1.0", abi: 1 },
  capabilities: { greet: { export: "greet" } },
};

describe('manifest "$schema"', () => {
  it("is accepted and left out of the parsed manifest", () => {
    const parsed = parseManifest(JSON.stringify(manifest));
    expect(parsed.id).toBe("example.schema-key");
    expect("$schema" in parsed).toBe(false);
  });

  it("does not open the door to other unknown keys", () => {
    expect(() => parseManifest({ ...manifest, $schemas: "x" })).toThrow(/unknown field.*\$schemas/);
  });

  it("is declared in schemas/manifest.schema.json, so editors accept it too", () => {
    const schema = JSON.parse(
      readFileSync(join(repoRoot, "schemas", "manifest.schema.json"), "utf8"),
    );
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.$schema).toMatchObject({ type: "string" });
  });
});
