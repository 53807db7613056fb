import { describe, expect, it } from "vitest";
import { resolvePaths } from "./paths.ts";

describe("resolvePaths", () => {
  it("defaults everything under ./.plughost", () => {
    expect(resolvePaths({}, "/work/app")).toEqual({
      home: "/work/app/.plughost",
      db: "file:/work/app/.plughost/host.db",
      trust: "/work/app/.plughost/trust",
      plugins: "/work/app/.plughost/plugins",
      cache: "/work/app/.plughost/cache",
      keys: "/work/app/.plughost/keys",
    });
  });

  it("lets environment variables move home, db and trust", () => {
    const paths = resolvePaths(
      {
        PLUGHOST_HOME: "/srv/ph",
        PLUGHOST_DB: "libsql://db.example.com",
        PLUGHOST_TRUST: "keys/trusted",
      },
      "/work/app",
    );
    expect(paths.home).toBe("/srv/ph");
    expect(paths.db).toBe("libsql://db.example.com");
    expect(paths.trust).toBe("/work/app/keys/trusted");
    expect(paths.keys).toBe("/srv/ph/keys");
  });

  it("lets flags win over the environment; plain db paths become file: URLs", () => {
    const paths = resolvePaths(
      { PLUGHOST_HOME: "/srv/ph", PLUGHOST_TRUST: "/env/trust", PLUGHOST_DB: "/env/x.db" },
      "/work/app",
      { trust: "t", db: "data/host.db", plugins: "p" },
    );
    expect(paths.trust).toBe("/work/app/t");
    expect(paths.db).toBe("file:/work/app/data/host.db");
    expect(paths.plugins).toBe("/work/app/p");
    expect(resolvePaths({ PLUGHOST_DB: "/env/x.db", PLUGHOST_HOME: "" }, "/w").db).toBe(
      "file:/env/x.db",
    );
  });
});
