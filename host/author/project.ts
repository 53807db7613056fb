/**
 * A plugin author's project on disk: `plugin.json` (the manifest), `build.json`
 * (language, source, output) and `plugin.test.json` (test cases), as
 * `host new` lays them out and `host build/test/dev` read them.
 * @module
 */
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { z } from "zod";
import { HostError } from "../errors.ts";
import { formatIssues, type Manifest, parseManifest } from "../manifest/mod.ts";

/** The languages `host new` and `host build` know. */
export const LANGUAGES = ["as", "c", "rust"] as const;
export type Language = (typeof LANGUAGES)[number];

/** build.json: how `host build` compiles the project. */
export const BuildSettingsSchema = z.strictObject({
  $schema: z.string().optional(),
  lang: z.enum(LANGUAGES),
  /** Entry source file, relative to the project. */
  source: z.string().min(1),
  /** The signed plugin file to write (the unsigned module goes beside it as *.raw.wasm). */
  out: z.string().regex(/\.wasm$/, "must end in .wasm"),
  /** Extra compiler flags, appended to the defaults. */
  flags: z.array(z.string()).default([]),
  /** Signing key (without .key/.pub), made on first build. */
  key: z.string().default("keys/dev"),
  /** Directories `host dev` watches, besides the manifest (default: the source's directory). */
  watch: z.array(z.string()).optional(),
});
export type BuildSettings = z.infer<typeof BuildSettingsSchema>;

/** A project as read from its directory. */
export interface Project {
  dir: string;
  manifestText: string;
  manifest: Manifest;
  settings: BuildSettings;
  /** Absolute paths of the raw module, the signed plugin and the key base. */
  rawOut: string;
  out: string;
  keyBase: string;
}

export const MANIFEST_FILE = "plugin.json";
export const SETTINGS_FILE = "build.json";
export const TESTS_FILE = "plugin.test.json";

/** Reads and checks a project's manifest and build settings. */
export async function readProject(dirArg: string, cwd: string): Promise<Project> {
  const dir = resolve(cwd, dirArg);
  const manifestText = await readText(join(dir, MANIFEST_FILE), dir);
  const manifest = parseManifest(manifestText);
  const settingsText = await readText(join(dir, SETTINGS_FILE), dir);
  let raw: unknown;
  try {
    raw = JSON.parse(settingsText);
  } catch (error) {
    throw new HostError(
      "invalid_input",
      `${join(dir, SETTINGS_FILE)} is not JSON: ${error instanceof Error ? error.message : error}`,
    );
  }
  const parsed = BuildSettingsSchema.safeParse(raw);
  if (!parsed.success) {
    throw new HostError(
      "invalid_input",
      `${join(dir, SETTINGS_FILE)}: ${formatIssues(parsed.error.issues).join("; ")}`,
    );
  }
  const settings = parsed.data;
  const out = resolve(dir, settings.out);
  return {
    dir,
    manifestText,
    manifest,
    settings,
    out,
    rawOut: out.replace(/\.wasm$/, ".raw.wasm"),
    keyBase: resolve(dir, settings.key),
  };
}

async function readText(file: string, dir: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ENOENT") {
      throw new HostError(
        "invalid_input",
        `${dir} is not a plugin project: ${file} is missing (create one with 'host new NAME --lang as')`,
      );
    }
    throw new HostError("invalid_input", `Cannot read ${file}: ${code ?? error}`);
  }
}
