/**
 * The registry commands (publish, search, install, update, rollback,
 * uninstall, registry promote) in-process against a registry on loopback.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../host/cli/main.ts";
import { createHost, type Host } from "../../host/host.ts";
import { registryOf } from "../../host/registry/mod.ts";
import { type RunningServer, startServer } from "../../host/server/start.ts";
import { type SigningSetup, signingSetup } from "../artifact/signing-fixture.ts";
import { signedFirstParty } from "../helpers/signing.ts";

describe("registry commands", () => {
  let setup: SigningSetup;
  let registryHost: Host;
  let server: RunningServer;
  let consumerHome: string;
  let env: Record<string, string>;
  let admin: string;

  const host = async (...args: string[]) => {
    let stdout = "";
    let stderr = "";
    const code = await main(args, {
      stdout: (t) => void (stdout += t),
      stderr: (t) => void (stderr += t),
      env,
      cwd: setup.dir,
    });
    return { code, stdout, stderr };
  };
  const file = async (
    name: string,
    id: string,
    version: string,
    edit = (_: Record<string, unknown>) => {},
  ) => {
    const wasm = await signedFirstParty("hello", setup.keys.alice, (m) => {
      m.id = id;
      m.version = version;
      edit(m);
    });
    const path = join(setup.dir, name);
    await writeFile(path, wasm);
    return path;
  };

  beforeAll(async () => {
    setup = await signingSetup();
    registryHost = await createHost({
      home: join(setup.dir, "registry"),
      paths: { trust: setup.trustDir },
      cache: false,
    });
    server = await startServer({
      host: registryHost,
      port: 0,
      options: { rateLimitPerSecond: 0 },
      registry: registryOf(registryHost),
    });
    const pub = await registryHost.store.tokens.create({
      name: "ci",
      scopes: ["registry:publish"],
    });
    admin =
      (await registryHost.store.tokens.create({ name: "cur", scopes: ["registry:admin"] })).token;
    consumerHome = await mkdtemp(join(tmpdir(), "plughost-consumer-"));
    env = {
      PLUGHOST_HOME: consumerHome,
      PLUGHOST_TRUST: setup.trustDir,
      PLUGHOST_REGISTRY: server.url,
      PLUGHOST_REGISTRY_TOKEN: pub.token,
    };
  });

  afterAll(async () => {
    await server?.close();
    await rm(consumerHome, { recursive: true, force: true });
    await rm(setup.dir, { recursive: true, force: true });
  });

  it("publishes, promotes, searches, installs, updates with consent, rolls back and uninstalls", async () => {
    const base = await file("base.wasm", "c.base", "1.0.0");
    const app = await file("app.wasm", "c.app", "1.0.0", (m) => {
      m.dependencies = { "c.base": "^1.0.0" };
    });
    const published = await host("publish", base, app, "--channel", "beta", "--changelog", "first");
    expect(published.code, published.stderr).toBe(0);
    expect(published.stdout).toMatch(/published c\.base 1\.0\.0 to beta/);
    // A publisher's token cannot promote.
    expect((await host("registry", "promote", "c.base@1.0.0", "--channel", "ga")).code).toBe(1);
    for (const id of ["c.base", "c.app"]) {
      const promoted = await host(
        "registry",
        "promote",
        `${id}@1.0.0`,
        "--channel",
        "ga",
        "--token",
        admin,
      );
      expect(promoted.code, promoted.stderr).toBe(0);
    }
    const search = await host("search", "--capability", "greet", "--limit", "1");
    expect(search.stdout).toMatch(/^c\.app 1\.0\.0 \[ga\] verified/);
    expect(search.stdout).toContain("more: --cursor ");

    const install = await host("install", "c.app@^1.0.0");
    expect(install.code, install.stderr).toBe(0);
    expect(install.stdout).toContain("installed c.base 1.0.0");
    expect(install.stdout).toContain("installed c.app 1.0.0");
    const lock = JSON.parse(await readFile(join(consumerHome, "plughost.lock"), "utf8"));
    expect(Object.keys(lock.plugins)).toEqual(["c.app", "c.base"]);

    const next = await file("base2.wasm", "c.base", "1.1.0", (m) => {
      m.permissions = { secrets: ["API_TOKEN"] };
    });
    expect(
      (await host(
        "publish",
        next,
        "--channel",
        "ga",
        "--token",
        admin,
        "--changelog",
        "uses API_TOKEN",
      )).code,
    )
      .toBe(0);
    const refused = await host("update", "c.base");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("c.base 1.0.0 -> 1.1.0 adds secret:API_TOKEN");
    expect(refused.stderr).toContain("changelog: uses API_TOKEN");
    expect(refused.stderr).toContain("--accept-permissions");
    const updated = await host("update", "c.base", "--accept-permissions");
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).toContain("updated c.base 1.0.0 -> 1.1.0");
    expect(updated.stdout).toContain("+ permissions: secret:API_TOKEN");

    const back = await host("rollback", "c.base");
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain("updated c.base 1.1.0 -> 1.0.0");

    const blocked = await host("uninstall", "c.base");
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toContain("c.app@1.0.0 needs ^1.0.0");
    expect((await host("uninstall", "c.app")).code).toBe(0);
    expect((await host("uninstall", "c.base")).code).toBe(0);
    const empty = JSON.parse(await readFile(join(consumerHome, "plughost.lock"), "utf8"));
    expect(empty.plugins).toEqual({});

    // --locked with the earlier lockfile reproduces its digests.
    const lockPath = join(setup.dir, "old.lock");
    await writeFile(lockPath, JSON.stringify(lock));
    const locked = await host("install", "--locked", "--lockfile", lockPath, "--json");
    expect(locked.code, locked.stderr).toBe(0);
    const again = JSON.parse(await readFile(join(consumerHome, "plughost.lock"), "utf8"));
    expect(again.plugins["c.app"].digest).toBe(lock.plugins["c.app"].digest);
    expect(again.plugins["c.base"].digest).toBe(lock.plugins["c.base"].digest);

    // Flags that would be ignored are refused.
    expect((await host("install", "c.app", "--force")).code).toBe(64);
    expect((await host("install", base, "--registry", server.url)).code).toBe(64);
    expect((await host("install", base, "--accept-permissions")).code).toBe(64);
    expect((await host("install", "c.app", "--channel", "nightly")).code).toBe(64);

    // A broken lockfile is invalid input (65).
    await writeFile(lockPath, '{"lockfileVersion":2}');
    expect((await host("install", "--locked", "--lockfile", lockPath)).code).toBe(65);
  });
});
