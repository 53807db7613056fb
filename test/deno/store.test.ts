// The store on Deno: a real database file, migrations, append-only events, runs, kv, the
// writer, interrupted marking, and the CLI commands that read it.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { main } from "../../host/cli/main.ts";
import { sha256Id as sha256 } from "../../host/artifact/mod.ts";
import { openStore } from "../../host/store/mod.ts";

function tempUrl(): { url: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), "plughost-deno-store-"));
  return { dir, url: pathToFileURL(join(dir, "host.db")).href };
}

Deno.test("store: events, runs, kv and append-only on Deno", async () => {
  const { dir, url } = tempUrl();
  try {
    const store = await openStore({ url });
    assert.equal(store.opened.migrated.length > 0, true);
    const appended = await Promise.all(
      Array.from(
        { length: 500 },
        (_, i) => store.events.append({ type: "deno.test", payload: { i } }),
      ),
    );
    assert.equal(new Set(appended.map((e) => e.id)).size, 500);
    const page = await store.events.query({ type: "deno.*", limit: 1000 });
    assert.equal(page.events.length, 500);
    await assert.rejects(store.client.execute("DELETE FROM events"), /append-only/);
    await assert.rejects(store.client.execute("UPDATE events SET type = 'x'"), /append-only/);

    const input = new TextEncoder().encode("hello");
    const run = await store.runs.start({
      pluginId: "p",
      moduleDigest: sha256("m"),
      export: "e",
      trigger: "cli",
      input,
      config: { b: 1, a: 2 },
      limits: { timeoutMs: 100 },
    });
    await store.runs.finish(run.id, {
      status: "error",
      errorClass: "memory_limit",
      errorMessage: "grew past 4 pages",
      usage: { memoryPages: 4, fuel: 10, durationMs: 3 },
    });
    const record = await store.runs.get(run.id);
    assert.equal(record?.status, "error");
    assert.deepEqual(record?.error, { class: "memory_limit", message: "grew past 4 pages" });
    assert.equal(record?.inputDigest, sha256(input));
    assert.deepEqual(record?.usage, { fuel: 10, memoryPages: 4, durationMs: 3 });

    await store.kv.set("p", "k", new Uint8Array([1, 2, 3]), { quotaBytes: 10 });
    assert.deepEqual(await store.kv.get("p", "k"), new Uint8Array([1, 2, 3]));
    await assert.rejects(store.kv.set("p", "k2", new Uint8Array(10), { quotaBytes: 10 }), /quota/);

    const left = await store.runs.start({
      pluginId: "p",
      moduleDigest: "d",
      export: "e",
      trigger: "http",
      input,
    });
    await store.close();
    const reopened = await openStore({ url });
    assert.deepEqual(reopened.opened.interrupted, [left.id]);
    await reopened.close();

    let out = "";
    const io = { stdout: (t: string) => void (out += t), stderr: () => {}, env: {}, cwd: dir };
    assert.equal(await main(["runs", "--db", url, "--json"], io), 0);
    assert.equal(JSON.parse(out).length, 2);
    out = "";
    assert.equal(await main(["doctor", "--db", url, "--json"], io), 0);
    assert.equal(JSON.parse(out).ok, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
