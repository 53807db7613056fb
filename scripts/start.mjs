// `npm start`: builds the example plugins when stale, then runs the host with them.
// (Until `host serve` exists this calls example.hello once and prints the greeting.)
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const run = (args) =>
  spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" }).status ?? 1;

let code = run([join(root, "scripts", "build-plugins.mjs"), "--if-stale"]);
if (code === 0) {
  code = run([
    join(root, "bin", "host.mjs"),
    "call",
    join(root, "build", "plugins", "hello.wasm"),
    "greet",
    "--input",
    '{"name":"world"}',
  ]);
}
process.exit(code);
