// The AssemblyScript SDK installs by name from its tarball (npm pack sdk/as), and `host build`
// compiles against the installed copy when a project has one.
import { execFileSync } from "node:child_process";
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot, runCli } from "../helpers/cli.ts";

const work = await mkdtemp(join(tmpdir(), "plughost-sdkpkg-"));
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const npm = (args: string[], cwd: string) =>
  execFileSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd,
    encoding: "utf8",
  });

describe("@plughost/sdk-as as a package", () => {
  it(
    "packs with its sources and ABI version, installs by path, and host build uses it",
    async () => {
      const manifest = JSON.parse(
        await readFile(join(repoRoot, "sdk", "as", "package.json"), "utf8"),
      );
      expect(manifest.name).toBe("@plughost/sdk-as");
      expect(manifest.plughost).toMatchObject({ abi: 1 });

      npm(["pack", join(repoRoot, "sdk", "as"), "--pack-destination", work], work);
      const tarball = (await readdir(work)).find((f) => f.endsWith(".tgz"));
      expect(tarball).toBe(`plughost-sdk-as-${manifest.version}.tgz`);

      expect((await runCli(["new", "pkg", "--lang", "as"], { cwd: work })).code).toBe(0);
      const dir = join(work, "pkg");
      // Only the SDK: the compiler and the PDK come with the host.
      await writeFile(join(dir, "package.json"), '{ "name": "pkg", "private": true }\n');
      npm(["install", "--offline", "--legacy-peer-deps", join(work, tarball!)], dir);
      const installed = join(dir, "node_modules", "@plughost", "sdk-as");
      const files = (await readdir(installed)).sort();
      expect(files).toContain("abort.ts");
      expect(files).toContain("index.ts");
      expect(files).not.toContain("test");

      // Mark the installed copy; the plugin compiles only if the build resolves the SDK there.
      await appendFile(join(installed, "index.ts"), "\nexport const installedCopy: i32 = 7;\n");
      const source = join(dir, "assembly", "index.ts");
      await writeFile(
        source,
        (await readFile(source, "utf8")).replace(
          '} from "@plughost/sdk-as";',
          '} from "@plughost/sdk-as";\nimport { installedCopy } from "@plughost/sdk-as";\n' +
            "export function copy(): i32 {\n  return installedCopy;\n}",
        ),
      );
      const built = await runCli(["build"], { cwd: dir, timeoutMs: 120_000 });
      expect(built.code, built.stderr).toBe(0);
      expect(built.stdout).toMatch(/exports {6}(copy, greet|greet, copy)\n/);
    },
    180_000,
  );
});
