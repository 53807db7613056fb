/**
 * Database secrets, encrypted at rest: the key is checked and named, a row
 * opens only for its own plugin, name and version under its own key, a
 * rotated value is seen once the cache time has passed (clock injected), and
 * a plugin reads a database value through the host's providers, with
 * `secret.read` naming the provider.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cachedSecrets,
  chainSecrets,
  databaseSecrets,
  envSecrets,
  fileSecrets,
  importSecretsKey,
  openSecret,
  sealSecret,
  storeSecret,
} from "../../host/capabilities/mod.ts";
import { secretsFileOf } from "../../host/cli/serve.ts";
import { HostError } from "../../host/errors.ts";
import { outputOf, type TestHost, testHost } from "../capabilities/harness.ts";
import { ops, probeWasm, signedProbe } from "../capabilities/probe.ts";

const keyText = () => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
const KEY = keyText();

describe("the secrets key", () => {
  it("refuses a missing key (usage) and one that is not base64 of 32 bytes (invalid input)", async () => {
    const missing = await importSecretsKey(undefined).catch((e: HostError) => e);
    expect(missing).toBeInstanceOf(HostError);
    expect((missing as HostError).code).toBe("usage");
    expect((missing as HostError).message).toContain("PLUGHOST_SECRETS_KEY is not set");
    for (const bad of ["not base64!", btoa("short")]) {
      const error = await importSecretsKey(bad).catch((e: HostError) => e);
      expect((error as HostError).code).toBe("invalid_input");
      expect((error as HostError).message).toContain("exactly 32 bytes");
    }
  });

  it("opens a row only under its key and for its own plugin, name and version", async () => {
    const key = await importSecretsKey(KEY);
    const sealed = await sealSecret(key, "a.b", "TOKEN", 1, "v-1");
    const row = { pluginId: "a.b", name: "TOKEN", version: 1, ...sealed };
    expect(await openSecret(key, row)).toBe("v-1");
    const other = await importSecretsKey(keyText());
    await expect(openSecret(other, row)).rejects.toThrow(/is not the key .* was stored with/);
    await expect(openSecret(key, { ...row, pluginId: "evil.plugin" })).rejects.toThrow(
      /does not decrypt/,
    );
    await expect(openSecret(key, { ...row, name: "OTHER" })).rejects.toThrow(/does not decrypt/);
    await expect(openSecret(key, { ...row, version: 2 })).rejects.toThrow(/does not decrypt/);
  });
});

describe("the cache", () => {
  it("answers from the cache within its time and sees a rotated value after it", () => {
    const env: Record<string, string> = { T_X: "one" };
    let now = 1000;
    const cached = cachedSecrets(envSecrets("T_", env), 5000, () => now);
    expect(cached.get("X", "p")).toBe("one");
    env.T_X = "two";
    now += 4999;
    expect(cached.get("X", "p")).toBe("one");
    now += 1;
    expect(cached.get("X", "p")).toBe("two");
  });
});

describe("database secrets in a host", () => {
  let t: TestHost;
  let key: Awaited<ReturnType<typeof importSecretsKey>>;
  let keyNow: string | undefined = KEY;
  beforeAll(async () => {
    await probeWasm();
    key = await importSecretsKey(KEY);
    // No cache, so each run sees the database as it is (the cache is tested above).
    t = await testHost({
      secrets: envSecrets("T_", { T_API_TOKEN: "from-env" }),
      secretsKey: () => keyNow,
      secretsCacheMs: 0,
    });
    await t.host.runtime.load(
      await signedProbe(t.key, "t.db", { secrets: ["API_TOKEN", "DB_ONLY"] }),
      "test",
    );
  }, 120_000);
  afterAll(async () => await t?.close());

  const is = async (name: string, value: string) =>
    outputOf(await t.call("t.db", "run", ops({ secretIs: name, value })));

  it("reads the database value first, then the environment; a rotation is seen by the next run", async () => {
    expect(await is("API_TOKEN", "from-env")).toEqual([{ secretIs: true }]);
    expect(await storeSecret(t.host.store.secrets, key, "t.db", "API_TOKEN", "db-v1")).toBe(1);
    expect(await is("API_TOKEN", "db-v1")).toEqual([{ secretIs: true }]);
    expect(await storeSecret(t.host.store.secrets, key, "t.db", "API_TOKEN", "db-v2")).toBe(2);
    expect(await is("API_TOKEN", "db-v2")).toEqual([{ secretIs: true }]);
    const reads = await t.events({ type: "secret.read" });
    // Per run (a call the sandbox re-runs after its main-thread slice reads, and is audited, again).
    const byRun = new Map(
      reads.map((e) => [e.runId, (e.payload as { provider: string }).provider]),
    );
    expect([...byRun.values()]).toEqual([
      "env",
      "database",
      "database",
    ]);
    expect(await t.host.store.secrets.list("t.db")).toMatchObject([
      { pluginId: "t.db", name: "API_TOKEN", version: 2 },
    ]);
  });

  it("refuses clearly, naming the key, when the key is missing or wrong", async () => {
    await storeSecret(t.host.store.secrets, key, "t.db", "DB_ONLY", "db-only-value");
    keyNow = undefined;
    const missing = outputOf(
      await t.call("t.db", "run", ops({ fn: "secret_get", req: { name: "DB_ONLY" } })),
    ) as { error: { code: string; message: string } }[];
    expect(missing[0]!.error.code).toBe("host_error");
    expect(missing[0]!.error.message).toContain("PLUGHOST_SECRETS_KEY is not set");
    keyNow = keyText();
    const wrong = outputOf(
      await t.call("t.db", "run", ops({ fn: "secret_get", req: { name: "DB_ONLY" } })),
    ) as { error: { message: string } }[];
    expect(wrong[0]!.error.message).toMatch(/PLUGHOST_SECRETS_KEY is not the key/);
    keyNow = KEY;
  });

  it("keeps only ciphertext in the database file", async () => {
    await t.host.store.flush();
    const bytes = readFileSync(fileURLToPath(t.host.store.url));
    const wal = (() => {
      try {
        return readFileSync(`${fileURLToPath(t.host.store.url)}-wal`);
      } catch {
        return Buffer.alloc(0);
      }
    })();
    // (db-v1 and db-v2 are in the RunRecords' inputs of the first test, which named them.)
    expect(Buffer.concat([bytes, wal]).includes(Buffer.from("db-only-value"))).toBe(false);
    expect(Buffer.concat([bytes, wal]).includes(Buffer.from("DB_ONLY"))).toBe(true);
  });

  it("a database provider alone reloads a plugin's values after its time", async () => {
    let now = 0;
    const provider = databaseSecrets(t.host.store.secrets, () => KEY, 1000, () => now);
    await provider.prepare!("t.db");
    expect(provider.get("API_TOKEN", "t.db")).toBe("db-v2");
    await storeSecret(t.host.store.secrets, key, "t.db", "API_TOKEN", "db-v3");
    await provider.prepare!("t.db");
    expect(provider.get("API_TOKEN", "t.db")).toBe("db-v2");
    now = 1000;
    await provider.prepare!("t.db");
    expect(provider.get("API_TOKEN", "t.db")).toBe("db-v3");
    expect(provider.get("API_TOKEN", "another.plugin")).toBeUndefined();
  });

  it("a reload of the database drops older cached answers, such as the environment's", async () => {
    const now = 0;
    const chained = cachedSecrets(
      chainSecrets(
        databaseSecrets(t.host.store.secrets, () => KEY, 1000, () => now),
        envSecrets("T_", { T_API_TOKEN: "from-env" }),
      ),
      1000,
      () => now,
    );
    // Before the plugin's first load (e.g. a log line from start code) only the env answers.
    expect(chained.get("API_TOKEN", "t.db")).toBe("from-env");
    expect(await chained.prepare!("t.db")).toBe(true);
    expect(chained.get("API_TOKEN", "t.db")).toBe("db-v3");
    expect(await chained.prepare!("t.db")).toBe(false);
  });
});

describe("where host serve reads the secrets file", () => {
  it("takes the flag, else the policy's (relative to the policy file), else the environment", () => {
    const io = { cwd: "/work", env: { PLUGHOST_SECRETS_FILE: "/env/secrets.json" } };
    expect(secretsFileOf("s.json", "p", "/etc/plughost/policy.json", io)).toBe("/work/s.json");
    expect(secretsFileOf(undefined, "secrets", "/etc/plughost/policy.json", io)).toBe(
      "/etc/plughost/secrets",
    );
    expect(secretsFileOf(undefined, undefined, "/etc/plughost/policy.json", io)).toBe(
      "/env/secrets.json",
    );
    expect(secretsFileOf(undefined, undefined, undefined, { cwd: "/w", env: {} })).toBeUndefined();
  });
});

describe("the secrets file", () => {
  it("reads a directory of files: the plugin's own first, then shared, one newline dropped", () => {
    const dir = mkdtempSync(join(tmpdir(), "plughost-secret-dir-"));
    try {
      mkdirSync(join(dir, "a.b"));
      writeFileSync(join(dir, "a.b", "TOKEN"), "own\n");
      writeFileSync(join(dir, "TOKEN"), "shared");
      writeFileSync(join(dir, "ONLY_SHARED"), "two lines\nkept\n");
      const secrets = fileSecrets(dir);
      expect(secrets.get("TOKEN", "a.b")).toBe("own");
      expect(secrets.get("TOKEN", "c.d")).toBe("shared");
      expect(secrets.get("ONLY_SHARED", "a.b")).toBe("two lines\nkept");
      expect(secrets.get("MISSING", "a.b")).toBeUndefined();
      expect(secrets.get("../TOKEN", "a.b")).toBeUndefined();
      expect(fileSecrets(join(dir, "nope")).get("TOKEN", "a.b")).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
