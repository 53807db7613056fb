/**
 * `host new NAME --lang as|c|rust`: a plugin project that builds and passes
 * its tests untouched.
 * @module
 */
import { relative } from "node:path";
import { createProject } from "../author/scaffold.ts";
import { type Language, LANGUAGES } from "../author/project.ts";
import { type TemplateName, TEMPLATES } from "../author/templates.ts";
import { ExitCode, UsageError } from "../errors.ts";
import { type Command, commonOptions, parseFlags } from "./command.ts";

const usage = `Usage: host new <name> --lang as|c|rust [options]

Creates the directory <name> with a plugin project: plugin.json (the manifest,
with "$schema" so editors check it), the source, plugin.test.json (test cases),
build.json (build settings), .gitignore and a README. It builds with
'host build' and passes 'host test' as it is.

Options:
  --lang as|c|rust     AssemblyScript, C (clang + wasm-ld) or Rust (rustc with the
                       wasm32-unknown-unknown target) (required)
  --template NAME      capability (default): a capability using KV and events;
                       subscriber: an onEvent hook counting run.failed events in KV,
                       and a capability reading the count;
                       route: a public HTTP route GET /p/<id>/hello/:name
  --id ID              Plugin id (default: <name>, lower-cased)
  --json               Print {"dir","id","lang","files"}

Exit codes: 0 created; 1 the directory exists and is not empty; 64 usage.
`;

export const command: Command = {
  name: "new",
  summary: "Create a plugin project (AssemblyScript, C or Rust) that builds and tests as is",
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      ...commonOptions,
      lang: { type: "string" },
      template: { type: "string" },
      id: { type: "string" },
    }, 1);
    const [name] = positionals;
    if (name === undefined || name === "") throw new UsageError("Missing <name>");
    const lang = values.lang;
    if (lang === undefined) throw new UsageError("Missing --lang as|c|rust");
    if (!(LANGUAGES as readonly string[]).includes(lang)) {
      throw new UsageError(`--lang takes as, c or rust, got '${lang}'`);
    }
    const template = values.template ?? "capability";
    if (!(TEMPLATES as readonly string[]).includes(template)) {
      throw new UsageError(`--template takes ${TEMPLATES.join(", ")}, got '${template}'`);
    }
    const created = await createProject(name, {
      lang: lang as Language,
      template: template as TemplateName,
      cwd: io.cwd,
      id: values.id,
    });
    if (values.json) {
      io.stdout(JSON.stringify({ ...created, lang }) + "\n");
    } else {
      const dir = relative(io.cwd, created.dir) || ".";
      io.stdout(
        `created ${dir} (plugin ${created.id}, ${lang})\n` +
          created.files.map((f) => `  ${f}\n`).join("") +
          `next: cd ${dir} && host build && host test\n`,
      );
    }
    return ExitCode.ok;
  },
};
