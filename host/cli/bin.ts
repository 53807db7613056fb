/**
 * Entry point of the `host` binary on every runtime.
 * @module
 */
import process from "node:process";
import { main } from "./main.ts";

const code = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
});
// Let stdout drain before exiting; exit explicitly so lingering handles
// (workers, timers) never keep a finished command alive.
process.exitCode = code;
process.stdout.write("", () => process.exit(code));
