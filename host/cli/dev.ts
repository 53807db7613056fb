/**
 * `host dev [DIR] --server URL`: rebuild, re-sign and upload a plugin project
 * to a running server on every source change, until interrupted.
 * @module
 */
import process from "node:process";
import { relative } from "node:path";
import { formatBuild } from "../author/build.ts";
import { devLoop } from "../author/dev.ts";
import { followRuns, formatActivity } from "../author/follow.ts";
import { readProject } from "../author/project.ts";
import { ExitCode, UsageError } from "../errors.ts";
import { type Command, commonOptions, intFlag, parseFlags } from "./command.ts";

const usage = `Usage: host dev [dir] --server URL [options]

Builds the plugin project in <dir> (default: the current directory), signs it
and uploads it to the server (POST /v1/plugins?force=true), then watches its
sources (the source's folder, plugin.json, build.json; build.json "watch" to
change) and does it again on every change, printing each rebuild's result.
The server replaces the loaded plugin at once: no restart. Meanwhile it follows
the server's event stream for the plugin and prints each run (capability,
trigger, ok or the error, fuel, duration) and each log line, however the call
was made (HTTP, schedule, another plugin); --quiet-runs turns that off. The
token needs the read scope for that (admin has it).

The server must trust the project's key: start it with
  host serve --trust <dir>/keys/dev.pub
(or copy keys/dev.pub into its trust directory), after a first 'host build'.

Options:
  --server URL       The server's base URL, e.g. http://127.0.0.1:8080 (required)
  --token TOKEN      An admin API token (also PLUGHOST_TOKEN), if the server needs one
  --interval-ms N    How often to look for changes (default 250)
  --quiet-runs       Do not print the plugin's runs and log lines
  --json             Print one JSON line per build, upload or error

Stops on Ctrl-C (exit 0). Exit 64 for usage errors; build and upload errors
are printed and the watch goes on.
`;

export const command: Command = {
  name: "dev",
  summary: "Rebuild, re-sign and upload a plugin project on every change",
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      ...commonOptions,
      server: { type: "string" },
      token: { type: "string" },
      "interval-ms": { type: "string" },
      "quiet-runs": { type: "boolean" },
    }, 1);
    if (values.server === undefined) {
      throw new UsageError(
        "Missing --server URL: start a server (host serve --trust keys/dev.pub) and pass its URL",
      );
    }
    try {
      new URL(values.server);
    } catch {
      throw new UsageError(
        `--server takes a URL like http://127.0.0.1:8080, got '${values.server}'`,
      );
    }
    const stop = new AbortController();
    let watching = false;
    const onSignal = () => stop.abort();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    const token = values.token ?? io.env.PLUGHOST_TOKEN;
    const following = values["quiet-runs"] ? Promise.resolve() : readProject(
      positionals[0] ?? ".",
      io.cwd,
    ).then((project) =>
      followRuns({
        server: values.server as string,
        token,
        pluginId: project.manifest.id,
        signal: stop.signal,
        report: (activity) =>
          values.json
            ? io.stdout(JSON.stringify(activity) + "\n")
            : io.stdout(formatActivity(activity)),
        warn: (message) => io.stderr(`host dev: ${message}\n`),
      })
    ).catch(() => {
      // No readable project: devLoop reports that itself.
    });
    try {
      await devLoop({
        dir: positionals[0] ?? ".",
        cwd: io.cwd,
        env: io.env,
        server: values.server,
        token,
        intervalMs: intFlag("interval-ms", values["interval-ms"]) ?? 250,
        signal: stop.signal,
        report(event) {
          if (values.json) {
            io.stdout(JSON.stringify(event) + "\n");
          } else if (event.kind === "built") {
            io.stdout(formatBuild(event.build, io.cwd));
          } else if (event.kind === "uploaded") {
            io.stdout(
              `uploaded ${event.id} ${event.version} (sha256:${event.digest}) to ${values.server}\n` +
                (watching
                  ? ""
                  : `watching ${
                    relative(io.cwd, positionals[0] ?? ".") || "."
                  } for changes (Ctrl-C stops)\n`),
            );
            watching = true;
          } else {
            io.stderr(`host dev: ${event.stage} failed: ${event.message}\n`);
          }
        },
      });
    } finally {
      stop.abort();
      await following;
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
    return ExitCode.ok;
  },
};
