/**
 * The acceptance over the real CLI: `host call counter.wasm increment --db
 * file:./x.db` twice prints 1 then 2; the counter re-signed without
 * permissions.kv gets permission_denied and an audit.denied event.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trustKey } from "../../host/trust/mod.ts";
import { runCli } from "../helpers/cli.ts";
import { newKey, signedFirstParty } from "../helpers/signing.ts";

describe("host call with capabilities (CLI)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "plughost-caps-cli-"));
    const key = await newKey("operator");
    await trustKey(join(dir, ".plughost", "trust"), key.publicKey, { label: "operator" });
    writeFileSync(join(dir, "counter.wasm"), await signedFirstParty("counter", key));
    writeFileSync(
      join(dir, "counter-nokv.wasm"),
      await signedFirstParty("counter", key, (m) => {
        m.permissions = {};
      }),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("counts 1 then 2 in file:./x.db", async () => {
    const args = ["call", "counter.wasm", "increment", "--db", "file:./x.db"];
    const first = await runCli(args, { cwd: dir });
    expect(first.stderr).toBe("");
    expect([first.code, first.stdout]).toEqual([0, "1\n"]);
    const second = await runCli(args, { cwd: dir });
    expect([second.code, second.stdout]).toEqual([0, "2\n"]);
  });

  it("without permissions.kv: permission_denied, exit 1, and an audit.denied event", async () => {
    const result = await runCli(["call", "counter-nokv.wasm", "increment", "--db", "file:./x.db"], {
      cwd: dir,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("permission_denied");
    const events = await runCli(
      ["events", "--db", "file:./x.db", "--type", "audit.denied", "--json"],
      { cwd: dir },
    );
    expect(events.code).toBe(0);
    const audit = events.stdout.trim().split("\n").map((line) => JSON.parse(line));
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      pluginId: "example.counter",
      payload: { function: "kv_get", asked: { key: "count" } },
    });
  });
});
