// `host new` for each language, then `host build` and `host test` of the new project with no
// edits (the acceptance of issue 20), for each template; a failing case fails with a diff.
import { Ajv2020 } from "ajv/dist/2020.js";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findClang, findRustc } from "../../host/author/toolchains.ts";
import { capabilityProvider } from "../../host/capabilities/mod.ts";
import { createHost } from "../../host/host.ts";
import { readSigningKey, signPlugin, trustKey } from "../../host/trust/mod.ts";
import { repoRoot, runCli } from "../helpers/cli.ts";
import { signedFirstParty } from "../helpers/signing.ts";
import { until } from "../delivery/helpers.ts";
import { harness } from "../server/harness.ts";

const env = process.env as Record<string, string>;
const clang = findClang(env);
const rustc = await findRustc(env);
const missing: Record<string, string | undefined> = {
  as: undefined,
  c: "missing" in clang ? clang.missing : undefined,
  rust: "missing" in rustc ? rustc.missing : undefined,
};

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "plughost-author-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("host new -> build -> test, untouched", () => {
  for (const lang of ["as", "c", "rust"] as const) {
    const why = missing[lang];
    const name = `${lang}: a new project builds, signs and passes its own tests` +
      (why === undefined ? "" : ` (skipped: ${why})`);
    it.skipIf(why !== undefined)(name, async () => {
      const created = await runCli(["new", `hello-${lang}`, "--lang", lang], { cwd: work });
      expect(created.stderr).toBe("");
      expect(created.code).toBe(0);
      const dir = join(work, `hello-${lang}`);

      // The manifest names its JSON Schema for editors, and is valid under it.
      const manifest = JSON.parse(await readFile(join(dir, "plugin.json"), "utf8"));
      expect(manifest.$schema).toBe("./manifest.schema.json");
      const schema = JSON.parse(await readFile(join(dir, "manifest.schema.json"), "utf8"));
      const validate = new Ajv2020({ strict: false }).compile(schema);
      expect(validate(manifest), JSON.stringify(validate.errors)).toBe(true);
      expect(await readFile(join(dir, ".gitignore"), "utf8")).toMatch(/^\*\.key$/m);

      const built = await runCli(["build"], { cwd: dir, timeoutMs: 120_000 });
      expect(built.stderr).toBe("");
      expect(built.code).toBe(0);
      expect(built.stdout).toMatch(new RegExp(`built build/hello-${lang}\\.wasm \\(\\d+ bytes\\)`));
      expect(built.stdout).toMatch(/exports {6}greet\n/);
      expect(built.stdout).toContain(`events {"publish":["hello-${lang}.*"]}`);
      expect(built.stdout).toMatch(/new dev key/);

      const verified = await runCli([
        "verify",
        `build/hello-${lang}.wasm`,
        "--trust",
        join(dir, "keys"),
      ], { cwd: dir });
      expect(verified.code, verified.stderr + verified.stdout).toBe(0);

      const tested = await runCli(["test"], { cwd: dir, timeoutMs: 120_000 });
      expect(tested.stderr).toBe("");
      expect(tested.code, tested.stdout).toBe(0);
      expect(tested.stdout).toMatch(/^ok +greets by name +fuel [\d,]+ +memory \d+ pages/m);
      expect(tested.stdout).toMatch(/^ok +counts greetings in KV across calls +fuel [\d,]+/m);
      expect(tested.stdout).toMatch(/^ok +refuses input without a name/m);
      expect(tested.stdout).toContain("3 passed, 0 failed");
      // The second build reuses the key made by the first.
      expect(tested.stdout).not.toContain("new dev key");
    }, 180_000);
  }

  it("a failing case fails the command (exit 1) with a diff, and --json reports fuel", async () => {
    const dir = join(work, "hello-as");
    const cases = JSON.parse(await readFile(join(dir, "plugin.test.json"), "utf8"));
    cases.cases[1].output = { greetings: 3 };
    cases.cases.push({
      name: "expects an error that does not come",
      capability: "greet",
      input: { name: "x" },
      error: "plugin_error",
    });
    await writeFile(join(dir, "plugin.test.json"), JSON.stringify(cases));
    const tested = await runCli(["test", "--no-build"], { cwd: dir });
    expect(tested.code).toBe(1);
    expect(tested.stdout).toMatch(/^FAIL +counts greetings in KV across calls +fuel [\d,]+/m);
    expect(tested.stdout).toContain(
      '      -   "greetings": 3\n      +   "greetings": 2\n',
    );
    expect(tested.stdout).toMatch(/expected error plugin_error, but the call succeeded/);
    expect(tested.stdout).toContain("2 passed, 2 failed");

    const json = await runCli(["test", "--no-build", "--json"], { cwd: dir });
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as {
      ok: boolean;
      cases: { ok: boolean; fuel: number }[];
    };
    expect(report.ok).toBe(false);
    expect(report.cases[0]!.ok).toBe(true);
    expect(report.cases[0]!.fuel).toBeGreaterThan(0);
  }, 120_000);
});

describe("on Deno", () => {
  const why = missing.c;
  it.skipIf(why !== undefined)(
    "host new, build and test of a C project run on Deno 2 too" +
      (why === undefined ? "" : ` (skipped: ${why})`),
    async () => {
      const created = await runCli(["new", "on-deno", "--lang", "c"], {
        cwd: work,
        runtime: "deno",
      });
      expect(created.code, created.stderr).toBe(0);
      const tested = await runCli(["test", "on-deno"], {
        cwd: work,
        runtime: "deno",
        timeoutMs: 120_000,
      });
      expect(tested.code, tested.stdout + tested.stderr).toBe(0);
      expect(tested.stdout).toMatch(/^ok +greets by name +fuel [\d,]+/m);
      expect(tested.stdout).toContain("3 passed, 0 failed");
    },
    180_000,
  );
});

describe("host new --template subscriber|route, untouched", () => {
  // Each language's source is its own code, so each is built and tested once.
  const expected = {
    subscriber: {
      exports: /exports {6}(count, on_event|on_event, count)\n/,
      cases: [
        "counts nothing before any event",
        "on_event takes a run.failed event",
        "on_event takes a second event",
        "count reads what on_event kept",
        "on_event refuses input that is no event",
      ],
    },
    route: {
      exports: /exports {6}hello\n/,
      cases: [
        "GET /hello/Ada answers 200 with a greeting",
        "counts visits in KV across requests",
        "refuses a request without params.name",
      ],
    },
  };
  for (const template of ["subscriber", "route"] as const) {
    for (const lang of ["as", "c", "rust"] as const) {
      const why = missing[lang];
      it.skipIf(why !== undefined)(
        `${template} in ${lang}: builds, signs and passes its own tests` +
          (why === undefined ? "" : ` (skipped: ${why})`),
        async () => {
          const name = `${template}-${lang}`;
          const created = await runCli(["new", name, "--lang", lang, "--template", template], {
            cwd: work,
          });
          expect(created.code, created.stderr).toBe(0);
          const dir = join(work, name);
          const manifest = JSON.parse(await readFile(join(dir, "plugin.json"), "utf8"));
          const schema = JSON.parse(await readFile(join(dir, "manifest.schema.json"), "utf8"));
          const validate = new Ajv2020({ strict: false }).compile(schema);
          expect(validate(manifest), JSON.stringify(validate.errors)).toBe(true);
          if (template === "subscriber") {
            expect(manifest.hooks.onEvent).toEqual({
              export: "on_event",
              topics: ["run.failed"],
              priority: 0,
            });
            expect(manifest.permissions.events.subscribe).toEqual(["run.failed"]);
          } else {
            expect(manifest.routes).toMatchObject([
              { method: "GET", path: "/hello/:name", capability: "hello", auth: "public" },
            ]);
          }

          const built = await runCli(["build"], { cwd: dir, timeoutMs: 120_000 });
          expect(built.code, built.stderr).toBe(0);
          expect(built.stdout).toMatch(expected[template].exports);
          const tested = await runCli(["test", "--no-build"], { cwd: dir });
          expect(tested.stderr).toBe("");
          expect(tested.code, tested.stdout).toBe(0);
          for (const c of expected[template].cases) {
            expect(tested.stdout).toMatch(new RegExp(`^ok +${c} `, "m"));
          }
          const n = expected[template].cases.length;
          expect(tested.stdout).toContain(`${n} passed, 0 failed`);
        },
        180_000,
      );
    }
  }

  // host test calls the exports the way delivery and the route layer would; here the real ones do.
  it.skipIf(missing.c !== undefined)(
    "the C subscriber gets run.failed delivered by the host; the C route answers on /p/<id>/",
    async () => {
      const dir = join(work, "subscriber-c");
      const key = await readSigningKey(join(dir, "keys", "dev.key"));
      const home = await mkdtemp(join(tmpdir(), "plughost-template-e2e-"));
      await trustKey(join(home, "trust"), key.publicKey, { label: "project" });
      const host = await createHost({ home, cache: false });
      try {
        await host.load(await readFile(join(dir, "build", "subscriber-c.wasm")), "test");
        await host.load(await signedFirstParty("flaky", key), "test");
        const delivery = host.startDelivery({ pollMs: 5 });
        await until(() => delivery.status().some((l) => l.pluginId === "subscriber-c" && l.held));
        const failed = await host.invoke({
          pluginId: "example.flaky",
          capability: "work",
          input: new TextEncoder().encode('{"fail":true}'),
          trigger: "cli",
        });
        expect(failed.ok).toBe(false);
        const count = async () => {
          const result = await host.invoke({
            pluginId: "subscriber-c",
            capability: "count",
            input: new TextEncoder().encode("{}"),
            trigger: "cli",
          });
          if (!result.ok) throw new Error(`count failed: ${result.error.message}`);
          return JSON.parse(new TextDecoder().decode(result.output)) as { count: number };
        };
        await until(async () => (await count()).count === 1);
        const runs = (await host.store.runs.list({ pluginId: "subscriber-c", limit: 10 })).runs;
        expect(runs.filter((r) => r.trigger === "event")).toMatchObject([
          { capability: "hook:onEvent", status: "ok" },
        ]);
      } finally {
        await host.close();
        await rm(home, { recursive: true, force: true });
      }

      const h = await harness({}, { hostFunctions: capabilityProvider() });
      try {
        const project = join(work, "route-c");
        const signed = await signPlugin(
          await readFile(join(project, "build", "route-c.raw.wasm")),
          h.key,
          { manifest: await readFile(join(project, "plugin.json"), "utf8") },
        );
        await h.runtime.load(signed.wasm, "test");
        const res = await h.app.request("/p/route-c/hello/Ada");
        expect(res.status).toBe(200);
        expect(res.headers.get("cache-control")).toBe("no-store");
        expect(await res.json()).toEqual({ message: "Hello, Ada!", visits: 1 });
        const tooLong = await h.app.request(`/p/route-c/hello/${"x".repeat(65)}`);
        expect(tooLong.status).toBe(400);
      } finally {
        await h.close();
      }
    },
    120_000,
  );

  it(
    "a hook case that expects the wrong count fails with a diff; a bad hook case is refused",
    async () => {
      const dir = join(work, "subscriber-as");
      const cases = JSON.parse(await readFile(join(dir, "plugin.test.json"), "utf8"));
      // Without the second event, count must read 1: the hook case really ran the export.
      cases.cases.splice(2, 1);
      await writeFile(join(dir, "plugin.test.json"), JSON.stringify(cases));
      const tested = await runCli(["test", "--no-build"], { cwd: dir });
      expect(tested.code).toBe(1);
      expect(tested.stdout).toMatch(/^FAIL +count reads what on_event kept/m);
      expect(tested.stdout).toContain('-   "count": 2,');
      expect(tested.stdout).toContain('+   "count": 1,');

      // A hook the manifest does not declare fails its case; a case naming both is refused.
      cases.cases.push({ name: "an undeclared hook", hook: "onLoad" });
      await writeFile(join(dir, "plugin.test.json"), JSON.stringify(cases));
      const undeclared = await runCli(["test", "--no-build"], { cwd: dir });
      expect(undeclared.code).toBe(1);
      expect(undeclared.stdout).toMatch(/^FAIL +an undeclared hook[\s\S]*declares no onLoad hook/m);
      cases.cases.push({ name: "both", capability: "count", hook: "onEvent" });
      await writeFile(join(dir, "plugin.test.json"), JSON.stringify(cases));
      const both = await runCli(["test", "--no-build"], { cwd: dir });
      expect(both.code).toBe(65);
      expect(both.stderr).toMatch(/give either "capability" or "hook"/);
    },
    120_000,
  );
});

describe("host new refusals", () => {
  it("refuses an unknown template (exit 64)", async () => {
    const result = await runCli(["new", "t", "--lang", "as", "--template", "cron"], { cwd: work });
    expect(result.code).toBe(64);
    expect(result.stderr).toMatch(/--template takes capability, subscriber, route, got 'cron'/);
  });

  it("refuses an unknown language and a non-empty directory", async () => {
    const lang = await runCli(["new", "x", "--lang", "go"], { cwd: work });
    expect(lang.code).toBe(64);
    expect(lang.stderr).toMatch(/--lang takes as, c or rust/);
    const again = await runCli(["new", "hello-as", "--lang", "as"], { cwd: work });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/not empty/);
    const badId = await runCli(["new", "bad-id", "--lang", "c", "--id", "Bad Id"], { cwd: work });
    expect(badId.code).toBe(65);
    expect(badId.stderr).toMatch(/id: must be lower-case words joined by dots/);
    expect(existsSync(join(work, "bad-id"))).toBe(false);
  });

  it("host build outside a project says how to make one (exit 65)", async () => {
    const result = await runCli(["build", repoRoot + "/docs"], { cwd: work });
    expect(result.code).toBe(65);
    expect(result.stderr).toMatch(/not a plugin project.*host new/);
  });
});
