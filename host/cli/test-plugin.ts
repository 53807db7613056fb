/**
 * `host test [DIR]`: build a plugin project and run its JSON test cases
 * (plugin.test.json) against a throwaway host, with fuel and memory per case.
 * @module
 */
import { relative } from "node:path";
import { buildProject } from "../author/build.ts";
import { type CaseResult, readCases, runCases } from "../author/cases.ts";
import { readProject } from "../author/project.ts";
import { ExitCode } from "../errors.ts";
import { type Command, commonOptions, parseFlags } from "./command.ts";

const usage = `Usage: host test [dir] [options]

Builds the plugin project in <dir> (default: the current directory), then runs
the cases in plugin.test.json, in order, against a throwaway host with a
temporary data directory (KV and events work; KV carries over from case to
case). Prints each case with the fuel it spent and the memory it used; a
failing case prints why, with a diff of expected and actual output.

A case: {"name", "capability", "input" (JSON, default {}), "output" (expected
JSON), "match": "exact"|"partial", "error" (expected error class, e.g.
"schema_mismatch"), "events": [{"topic", "payload"?}], "secrets": {"NAME": "value"}}.
Instead of "capability", "hook": "onEvent" (or another manifest hook) runs that
hook's export with "input" (for onEvent, an event as the host delivers it).

Options:
  --no-build   Test build/<id>.wasm as it is
  --json       Print {"ok","cases":[{"name","ok","failure","fuel","memoryPages","durationMs"}]}

Exit codes: 0 every case passed; 1 a case failed or the build failed; 65 bad
plugin.json, build.json or plugin.test.json.
`;

export const command: Command = {
  name: "test",
  summary: "Build a plugin project and run its test cases (fuel, memory per case)",
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      ...commonOptions,
      "no-build": { type: "boolean" },
    }, 1);
    const project = await readProject(positionals[0] ?? ".", io.cwd);
    const cases = await readCases(project);
    if (!values["no-build"]) {
      const built = await buildProject(project, { env: io.env });
      if (!values.json) {
        io.stdout(
          `built ${relative(io.cwd, built.out) || built.out} (${built.bytes} bytes) in ${
            (built.durationMs / 1000).toFixed(1)
          } s\n`,
        );
      }
    }
    const width = Math.max(...cases.map((c) => c.name.length));
    const results = await runCases(project, cases, (r) => {
      if (!values.json) io.stdout(formatCase(r, width));
    });
    const failed = results.filter((r) => !r.ok).length;
    if (values.json) {
      io.stdout(JSON.stringify({ ok: failed === 0, cases: results }) + "\n");
    } else {
      io.stdout(`\n${results.length - failed} passed, ${failed} failed\n`);
    }
    return failed === 0 ? ExitCode.ok : ExitCode.failed;
  },
};

function formatCase(r: CaseResult, width: number): string {
  const figures = r.runId === undefined
    ? "(not run: refused before the call)"
    : `fuel ${r.fuel.toLocaleString("en-US")}  memory ${r.memoryPages} pages (${
      r.memoryPages * 64
    } KiB)  ${r.durationMs.toFixed(1)} ms`;
  const line = `${r.ok ? "ok  " : "FAIL"}  ${r.name.padEnd(width)}  ${figures}\n`;
  return r.failure === undefined
    ? line
    : line + r.failure.split("\n").map((l) => `      ${l}\n`).join("");
}
