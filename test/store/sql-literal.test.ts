/**
 * Values written into the writer's SQL as literals (host/store/sql-literal.ts)
 * read back exactly as bound parameters would have stored them, and no text
 * can end its literal early.
 * @module
 */
import type { InValue } from "@libsql/client";
import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import { inlineStatement, literal } from "../../host/store/sql-literal.ts";
import { WriteConnection } from "../../host/store/write-connection.ts";
import { storePerTest } from "./helpers.ts";

const t = storePerTest();

const texts = [
  "",
  "plain",
  "it's",
  "''",
  "'); DROP TABLE events; --",
  '"double" `back` ?',
  "nul\0inside\0",
  "\u00e9\u4e2d\ud83d\ude00",
  "line\nbreak\r\ttab\\",
  "x".repeat(70_000),
];
const numbers = [0, 1, -1, 2 ** 53 - 1, -(2 ** 53) + 1, 1.5, -0.25, 1e-7, 1e300, 123456789.125];

describe("SQL literals", () => {
  it("round-trip text, numbers, blobs, booleans and NULL through the writer connection", async () => {
    const client = t.store.client;
    await client.execute("CREATE TABLE lit (i INTEGER PRIMARY KEY, t, kind TEXT)");
    const values: InValue[] = [
      ...texts,
      ...numbers,
      10n,
      -7n,
      true,
      false,
      null,
      new Uint8Array([0, 1, 39, 63, 255]),
      new Uint8Array(0),
    ];
    const connection = new WriteConnection(t.db.path, 1000);
    try {
      await connection.write(
        values.map((value, i) => ({
          sql: "INSERT INTO lit VALUES (?, ?, 'x?')",
          args: [i, value],
        })),
        true,
      );
    } finally {
      connection.close();
    }
    const rows = (await client.execute(
      "SELECT i, t, typeof(t) AS type, hex(t) AS hex, kind FROM lit ORDER BY i",
    )).rows;
    expect(rows).toHaveLength(values.length);
    for (const row of rows) {
      const sent = values[Number(row.i)];
      expect(row.kind).toBe("x?");
      if (sent instanceof Uint8Array) {
        expect(row.type).toBe("blob");
        expect(new Uint8Array(row.t as ArrayBuffer)).toEqual(sent);
      } else if (typeof sent === "bigint") {
        expect(row.t).toBe(Number(sent));
      } else if (typeof sent === "boolean") {
        expect(row.t).toBe(sent ? 1 : 0);
      } else if (typeof sent === "string" && sent.includes("\0")) {
        // The driver reads text up to its first NUL; hex() shows all of it.
        expect(row.type).toBe("text");
        expect(row.hex).toBe(Buffer.from(sent).toString("hex").toUpperCase());
      } else {
        expect(row.t).toEqual(sent);
        expect(row.type).toBe(
          sent === null
            ? "null"
            : typeof sent === "string"
            ? "text"
            : Number.isSafeInteger(sent)
            ? "integer"
            : "real",
        );
      }
    }
  });

  it("refuses what binding refuses, and a placeholder count that does not match", () => {
    expect(() => literal(Number.NaN)).toThrow(/finite/);
    expect(() => literal(Infinity)).toThrow(/finite/);
    expect(() => literal(undefined)).toThrow(/undefined/);
    expect(() => literal(2n ** 63n)).toThrow(/Loss of precision/);
    expect(literal(2n ** 63n - 1n)).toBe("9223372036854775807");
    expect(() => literal(new Uint16Array(2) as unknown as Uint8Array)).toThrow(/Cannot write/);
    expect(() => inlineStatement({ sql: "SELECT ?1", args: [5] })).toThrow(/Numbered/);
    expect(() => inlineStatement({ sql: "SELECT :a", args: [] })).toThrow(/Named/);
    expect(() => inlineStatement({ sql: "SELECT ?, ?", args: [1] })).toThrow(/placeholders/);
    expect(() => inlineStatement({ sql: "SELECT ?", args: [1, 2] })).toThrow(/placeholders/);
    // A ? inside a quoted string or identifier is text, not a placeholder.
    expect(inlineStatement({ sql: `SELECT '?', "a?", ?`, args: ["it's"] })).toBe(
      `SELECT '?', "a?", 'it''s'`,
    );
  });
});
