import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { dbFilePath, normalizeDbUrl } from "../../host/store/url.ts";

describe("dbFilePath", () => {
  it("takes a relative file: URL relative to the working directory, as libSQL does", () => {
    expect(dbFilePath("file:./x.db", "/srv/app")).toBe(join("/srv/app", "x.db"));
    expect(dbFilePath("file:x.db", "/srv/app")).toBe(join("/srv/app", "x.db"));
    expect(dbFilePath("file:../data/x.db", "/srv/app")).toBe(join("/srv", "data", "x.db"));
  });

  it("keeps absolute paths and file:// URLs, and drops a query", () => {
    expect(dbFilePath("file:/var/x.db", "/srv/app")).toBe("/var/x.db");
    expect(dbFilePath("file:///var/my%20x.db", "/srv/app")).toBe("/var/my x.db");
    expect(dbFilePath("file:./x.db?mode=ro", "/srv/app")).toBe(join("/srv/app", "x.db"));
  });

  it("agrees with normalizeDbUrl", () => {
    const url = normalizeDbUrl("file:./x.db", "/srv/app");
    expect(dbFilePath(url, "/elsewhere")).toBe(dbFilePath("file:./x.db", "/srv/app"));
  });

  it("refuses an invalid percent escape with a usage error", () => {
    expect(() => dbFilePath("file:./a%zz.db", "/srv/app")).toThrow(/invalid percent escape/);
  });

  it("has no file for servers and in-memory databases", () => {
    expect(dbFilePath("libsql://db.example.com")).toBeUndefined();
    expect(dbFilePath(":memory:")).toBeUndefined();
    expect(dbFilePath("file::memory:?cache=shared")).toBeUndefined();
  });
});
