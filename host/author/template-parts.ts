/**
 * What each `host new` template provides: the manifest, the test cases and
 * the plugin source per language. The files every project shares (README,
 * build.json, .gitignore, ...) are made in templates.ts.
 * @module
 */
import type { Language } from "./project.ts";

/** What a template is filled with. */
export interface TemplateValues {
  /** Project (directory) name. */
  name: string;
  /** Plugin id (the name, lower-cased, with anything else made '-'). */
  id: string;
}

/** One template: the parts that differ between templates. */
export interface Template {
  /** Markdown for the README, after "A plughost plugin (`id`) with ". */
  summary(values: TemplateValues): string;
  /** plugin.json. */
  manifest(values: TemplateValues): string;
  /** plugin.test.json: cases every language's source passes. */
  tests(values: TemplateValues): string;
  /** The plugin source, per language. */
  source: Record<Language, (values: TemplateValues) => string>;
}

/** JSON as the generated files write it: two-space indent, final newline. */
export const json = (value: unknown): string => JSON.stringify(value, null, 2) + "\n";
