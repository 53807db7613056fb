// `npm start`: builds the example plugins when stale, makes sure a dev token exists
// (kept in .plughost/dev-token, mode 0600, git-ignored with the rest of .plughost), then
// serves build/plugins on 127.0.0.1:8787 and prints a ready-to-paste curl.
// Ctrl-C stops the server gracefully. PORT picks another port (default 8787).
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const host = join(root, "bin", "host.mjs");
const port = process.env.PORT ?? "8787";
const base = `http://127.0.0.1:${port}`;

/** Resolves when `port` on 127.0.0.1 is free to bind, rejects with the listen error if not. */
function portFree(port) {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(Number(port), "127.0.0.1", () => probe.close(() => resolve()));
  });
}

// Checked first, so a server already on the port (say another plughost) is never taken for ours.
try {
  await portFree(port);
} catch (error) {
  const taken = error?.code === "EADDRINUSE";
  process.stderr.write(
    taken
      ? `npm start: port ${port} on 127.0.0.1 is already in use (another server, maybe another ` +
        `npm start).\nStop it, or pick another port: PORT=${Number(port) + 1} npm start\n`
      : `npm start: cannot listen on 127.0.0.1:${port}: ${error?.message ?? error}\n`,
  );
  process.exit(93);
}

const build = spawnSync(process.execPath, [
  join(root, "scripts", "build-plugins.mjs"),
  "--if-stale",
], {
  cwd: root,
  stdio: "inherit",
});
if (build.status !== 0) process.exit(build.status ?? 1);

const ensured = spawnSync(process.execPath, [
  host,
  "tokens",
  "ensure",
  "--file",
  join(root, ".plughost", "dev-token"),
  "--name",
  "dev",
  "--scope",
  "admin",
], { cwd: root, encoding: "utf8" });
if (ensured.status !== 0) {
  process.stderr.write(ensured.stderr);
  process.exit(ensured.status ?? 1);
}
const token = ensured.stdout.trim();

const server = spawn(process.execPath, [
  host,
  "serve",
  "--plugins",
  join(root, "build", "plugins"),
  "--host",
  "127.0.0.1",
  "--port",
  port,
  "--validate-output",
], { cwd: root, stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.kill(signal));
server.on("exit", (code, signal) => process.exit(code ?? (signal ? 0 : 1)));

for (let i = 0; i < 240; i++) {
  if (server.exitCode !== null) break;
  try {
    if ((await fetch(`${base}/readyz`)).ok) break;
  } catch {
    // not listening yet
  }
  await new Promise((resolve) => setTimeout(resolve, 250));
}
const auth = `-H 'authorization: Bearer ${token}'`;
process.stdout.write(`
Ready. Call the example plugin (the dev token is in .plughost/dev-token):

  curl -i -X POST ${base}/v1/plugins/example.hello/capabilities/greet \\
    ${auth} -H 'content-type: application/json' -d '{"name":"world"}'

Then look the run up with the x-run-id it returned:

  curl ${base}/v1/runs/RUN_ID ${auth}

More: GET ${base}/openapi.json, ${base}/metrics (same token), docs/http-api.md. Ctrl-C stops.
`);
