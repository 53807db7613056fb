import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { migrationHash } from "../../host/store/migrate.ts";
import { migrations } from "../../host/store/migrations.ts";
import * as schema from "../../host/store/schema/index.ts";
import { renderStoreFiles } from "../../scripts/gen-store-schemas.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const migrationsDir = join(root, "host", "store", "migrations");

describe("generated store files", () => {
  it("are current: JSON Schemas and the embedded migrations match their sources", () => {
    for (const [path, content] of Object.entries(renderStoreFiles(root))) {
      expect(
        readFileSync(join(root, path), "utf8"),
        `${path} is stale: run node scripts/run-ts.mjs scripts/gen-store-schemas.ts`,
      )
        .toBe(content);
    }
  });

  it("embed every drizzle-kit migration byte for byte, so hashes match drizzle's", () => {
    const journal = JSON.parse(
      readFileSync(join(migrationsDir, "meta", "_journal.json"), "utf8"),
    ) as {
      entries: { tag: string; when: number }[];
    };
    expect(migrations.map((m) => [m.tag, m.when])).toEqual(
      journal.entries.map((e) => [e.tag, e.when]),
    );
    for (const migration of migrations) {
      const sql = readFileSync(join(migrationsDir, `${migration.tag}.sql`), "utf8");
      expect(migration.sql).toBe(sql);
      expect(migrationHash(migration)).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it("the committed migrations match the drizzle schema (drizzle-kit finds nothing to generate)", async () => {
    const { generateSQLiteDrizzleJson, generateSQLiteMigration } = await import("drizzle-kit/api");
    const journal = JSON.parse(
      readFileSync(join(migrationsDir, "meta", "_journal.json"), "utf8"),
    ) as {
      entries: { idx: number }[];
    };
    const last = journal.entries.at(-1)!;
    const snapshot = JSON.parse(
      readFileSync(
        join(migrationsDir, "meta", `${String(last.idx).padStart(4, "0")}_snapshot.json`),
        "utf8",
      ),
    );
    const current = await generateSQLiteDrizzleJson(schema as Record<string, unknown>, snapshot.id);
    const statements = await generateSQLiteMigration(snapshot, current);
    expect(statements, "schema changed: run npx drizzle-kit generate, then the gen script").toEqual(
      [],
    );
  });

  it("the consistency check can fail: a schema with an extra table yields statements", async () => {
    const { generateSQLiteDrizzleJson, generateSQLiteMigration } = await import("drizzle-kit/api");
    const { sqliteTable, text } = await import("drizzle-orm/sqlite-core");
    const empty = await generateSQLiteDrizzleJson({});
    const withTable = await generateSQLiteDrizzleJson({
      extra: sqliteTable("extra", { id: text("id") }),
    });
    expect(await generateSQLiteMigration(empty, withTable)).not.toEqual([]);
  });
});
