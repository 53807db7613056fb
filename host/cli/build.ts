/**
 * `host build [DIR]`: compile a plugin project, embed its manifest and sign
 * it with the project's dev key.
 * @module
 */
import { buildProject, formatBuild } from "../author/build.ts";
import { readProject } from "../author/project.ts";
import { ExitCode } from "../errors.ts";
import { type Command, commonOptions, parseFlags } from "./command.ts";

const usage = `Usage: host build [dir] [options]

Compiles the plugin project in <dir> (default: the current directory) as its
build.json says (AssemblyScript, C or Rust), embeds plugin.json, signs the
module with the project's key (build.json "key", default keys/dev; made on
first build, its .key git-ignored) and prints size, exports and permissions.

Options:
  --release   Optimize (AssemblyScript --optimize; slower to build)
  --json      Print {"out","bytes","exports","permissions","keyId","publicKey","digest",...}

Exit codes: 0 built; 1 compiling failed or the compiler is missing; 65 bad
plugin.json or build.json.
`;

export const command: Command = {
  name: "build",
  summary: "Compile a plugin project, embed its manifest and sign it with its dev key",
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      ...commonOptions,
      release: { type: "boolean" },
    }, 1);
    const project = await readProject(positionals[0] ?? ".", io.cwd);
    const result = await buildProject(project, { env: io.env, release: values.release ?? false });
    if (values.json) {
      io.stdout(JSON.stringify(result) + "\n");
    } else {
      if (result.log.trim() !== "") io.stderr(result.log.trimEnd() + "\n");
      for (const warning of result.warnings) io.stderr(`host build: warning: ${warning}\n`);
      io.stdout(formatBuild(result, io.cwd));
    }
    return ExitCode.ok;
  },
};
