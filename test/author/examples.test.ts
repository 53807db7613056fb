// examples/: the plugin projects are what `host new` makes and build and pass their tests; the
// host config, the curl scripts and the systemd unit work against a real server.
import { execFile } from "node:child_process";
import { cp, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findClang, findRustc } from "../../host/author/toolchains.ts";
import { repoRoot, runCli } from "../helpers/cli.ts";
import { adminToken, type Background, startCli } from "./_background.ts";

const env = process.env as Record<string, string>;
const clang = findClang(env);
const rustc = await findRustc(env);
const missing: Record<string, string | undefined> = {
  as: undefined,
  c: "missing" in clang ? clang.missing : undefined,
  rust: "missing" in rustc ? rustc.missing : undefined,
};
const examples = join(repoRoot, "examples");
const work = await mkdtemp(join(tmpdir(), "plughost-examples-"));
const running: Background[] = [];
afterAll(async () => {
  for (const b of running) await b.stop();
  await rm(work, { recursive: true, force: true });
});

/** Every file under `dir` (relative path -> text), without build output and keys. */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = relative(dir, join(entry.parentPath, entry.name));
    if (/^(build|keys|node_modules)\//.test(path)) continue;
    out[path] = await readFile(join(dir, path), "utf8");
  }
  return out;
}

function bash(
  script: string,
  args: string[],
  extraEnv: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("bash", [join(examples, "http", script), ...args], {
      env: { ...process.env, ...extraEnv },
    }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe("examples/greeter-*", () => {
  for (const lang of ["as", "c", "rust"] as const) {
    const why = missing[lang];
    it.skipIf(why !== undefined)(
      `greeter-${lang} is what host new makes, and builds and passes its tests` +
        (why === undefined ? "" : ` (skipped: ${why})`),
      async () => {
        const fresh = await runCli(["new", `greeter-${lang}`, "--lang", lang], { cwd: work });
        expect(fresh.code, fresh.stderr).toBe(0);
        const example = join(examples, `greeter-${lang}`);
        // A template or manifest schema change needs the examples made again:
        // rm -rf examples/greeter-LANG && node bin/host.mjs new examples/greeter-LANG --lang LANG
        expect(
          await tree(example),
          `examples/greeter-${lang} is not what host new makes now; regenerate it: rm -rf ` +
            `examples/greeter-${lang} && node bin/host.mjs new examples/greeter-${lang} --lang ${lang}`,
        ).toEqual(await tree(join(work, `greeter-${lang}`)));

        // Build a copy: the checkout keeps no keys or build output.
        const copy = join(work, "copies", `greeter-${lang}`);
        await cp(example, copy, { recursive: true });
        const tested = await runCli(["test", copy], { cwd: work, timeoutMs: 120_000 });
        expect(tested.code, tested.stdout + tested.stderr).toBe(0);
        expect(tested.stdout).toContain("3 passed, 0 failed");
      },
      180_000,
    );
  }
});

describe("examples/host-config.json, examples/http/*.sh, examples/deploy/", () => {
  it(
    "serve with the config; upload, call, list runs, events and plugins with the curl scripts",
    async () => {
      const copy = join(work, "copies", "greeter-as");
      // The greeter-as test above built this copy; build again if it ran alone.
      const built = await runCli(["build", copy], { cwd: work, timeoutMs: 120_000 }).catch(() =>
        null
      );
      if (built === null || built.code !== 0) {
        await cp(join(examples, "greeter-as"), copy, { recursive: true });
        expect((await runCli(["build", copy], { cwd: work, timeoutMs: 120_000 })).code).toBe(0);
      }
      const home = join(work, "server");
      const token = await adminToken(home);
      const server = startCli([
        "serve",
        "--config",
        join(examples, "host-config.json"),
        "--home",
        home,
        "--trust",
        join(copy, "keys", "dev.pub"),
        "--port",
        "0",
        "--json",
      ], work);
      running.push(server);
      const [, url] = await server.waitFor(/"url":"(http:[^"]+)"/);
      const vars = { PLUGHOST_URL: url!, PLUGHOST_TOKEN: token };

      const upload = await bash("upload.sh", [join(copy, "build", "greeter-as.wasm")], vars);
      expect(upload.code, upload.stderr).toBe(0);
      expect(JSON.parse(upload.stdout)).toMatchObject({ id: "greeter-as", version: "0.1.0" });

      const call = await bash("call.sh", ["greeter-as", "greet", '{"name":"Ada"}'], vars);
      expect(call.code, call.stderr).toBe(0);
      expect(JSON.parse(call.stdout)).toEqual({ message: "Hello, Ada!", greetings: 1 });

      const runs = await bash("runs.sh", ["greeter-as"], vars);
      expect(runs.code, runs.stderr).toBe(0);
      expect(JSON.parse(runs.stdout).runs[0]).toMatchObject({
        pluginId: "greeter-as",
        capability: "greet",
        status: "ok",
      });

      const events = await bash("events.sh", ["plugin.greeter-as.greeter-as.greeted"], vars);
      expect(events.code, events.stderr).toBe(0);
      expect(JSON.parse(events.stdout).events[0].payload).toEqual({ name: "Ada", greetings: 1 });

      const plugins = await bash("plugins.sh", [], vars);
      expect(JSON.parse(plugins.stdout).plugins.map((p: { id: string }) => p.id)).toContain(
        "greeter-as",
      );

      const refused = await bash("call.sh", ["greeter-as", "greet", "{}"], vars);
      expect(refused.code).not.toBe(0);
      expect(refused.stdout).toMatch(/schema_mismatch/);

      const noToken = await bash("plugins.sh", [], { PLUGHOST_URL: url!, PLUGHOST_TOKEN: "" });
      expect(noToken.code).toBe(64);
      expect(noToken.stderr).toMatch(/set PLUGHOST_TOKEN/);
    },
    300_000,
  );

  it("the systemd unit is the one in docs/deploy.md, and its ExecStart serves", async () => {
    const unit = await readFile(join(examples, "deploy", "plughost.service"), "utf8");
    const doc = await readFile(join(repoRoot, "docs", "deploy.md"), "utf8");
    expect(doc).toContain("```ini\n" + unit + "```");
    const exec = /^ExecStart=(\S+) (.*)$/m.exec(unit);
    expect(exec?.[1]).toBe("/usr/local/bin/plughost");
    const home = /^Environment=PLUGHOST_HOME=(.*)$/m.exec(unit)?.[1];
    expect(home).toBe("/var/lib/plughost");
    // The same arguments, on a free port, with the data directory in a temporary folder.
    const args = exec![2]!.split(" ").map((a, i, all) => all[i - 1] === "--port" ? "0" : a);
    const server = startCli([...args, "--home", join(work, "unit-home"), "--json"], work);
    running.push(server);
    const [, url] = await server.waitFor(/"url":"(http:[^"]+)"/);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    await server.stop();
    expect(server.child.exitCode).toBe(0);
  }, 120_000);

  // No container engine runs on the project's machines, so the image is not built here: what can
  // be checked is that it copies what build:binary makes and that its command line serves.
  it("the Containerfile copies the built binary and its ENTRYPOINT + CMD serve", async () => {
    const file = await readFile(join(examples, "deploy", "Containerfile"), "utf8");
    const copy = /^COPY (\S+) (\S+)$/m.exec(file);
    expect(copy?.[1]).toBe("dist/host");
    expect(await readFile(join(repoRoot, "scripts", "build-binary.mjs"), "utf8")).toMatch(
      /["'`]dist["'`]|dist\/host/,
    );
    expect(/^ENV PLUGHOST_HOME=(.*)$/m.exec(file)?.[1]).toBe("/var/lib/plughost");
    const json = (name: string) =>
      JSON.parse(new RegExp(`^${name} (\\[.*\\])$`, "m").exec(file)![1]!);
    const entry = json("ENTRYPOINT") as string[];
    const cmd = json("CMD") as string[];
    expect(entry).toEqual([copy![2]!.split("/").pop()]);
    // The same arguments on loopback and a free port (the container listens on 0.0.0.0).
    const args = cmd.map((a, i, all) =>
      all[i - 1] === "--port" ? "0" : all[i - 1] === "--host" ? "127.0.0.1" : a
    );
    expect(cmd).toContain("0.0.0.0");
    const server = startCli([...args, "--home", join(work, "container-home"), "--json"], work);
    running.push(server);
    const [, url] = await server.waitFor(/"url":"(http:[^"]+)"/);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    await server.stop();
    expect(server.child.exitCode).toBe(0);
  }, 120_000);
});
