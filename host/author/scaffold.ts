/**
 * `host new`: write a new plugin project from a template into a new (or
 * empty) directory.
 * @module
 */
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { HostError } from "../errors.ts";
import { parseManifest } from "../manifest/mod.ts";
import type { Language } from "./project.ts";
import { pluginIdFor, templateFiles, type TemplateName } from "./templates.ts";

/** What `createProject` wrote. */
export interface CreatedProject {
  dir: string;
  id: string;
  files: string[];
}

/** Writes a project; refuses a directory that already has files in it. */
export async function createProject(
  nameArg: string,
  options: { lang: Language; template: TemplateName; cwd: string; id?: string | undefined },
): Promise<CreatedProject> {
  const dir = resolve(options.cwd, nameArg);
  const name = basename(dir);
  const existing = await readdir(dir).catch(() => [] as string[]);
  if (existing.length > 0) {
    throw new HostError(
      "conflict",
      `${dir} already exists and is not empty: pick a new name or remove it`,
    );
  }
  const id = options.id ?? pluginIdFor(name);
  const files = await templateFiles(options.lang, options.template, { name, id });
  // A bad --id is refused before anything is written (invalid_manifest names the field).
  parseManifest(files["plugin.json"]);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content, { flag: "wx" });
  }
  return { dir, id, files: Object.keys(files).sort() };
}
