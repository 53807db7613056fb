// `node scripts/check-layers.mjs [--root DIR]`: the layer rules of docs/architecture.md, a step of
// `npm test`. dependency-cruiser checks the imports (.dependency-cruiser.cjs: no cycles, the core
// never imports cli/ or server/, sdk/ and plugins/ never import host/, runtime-specific modules only
// in host/adapter/, the database drivers only in host/store/); a text scan catches what an import
// rule cannot see: SQL run, or the store's raw client or drizzle handle used, outside host/store/.
// Violations listed in .dependency-cruiser-known-violations.json (a temporary baseline, absent
// unless a known violation is being fixed) are reported but do not fail. Exit 0 when clean, 1 otherwise.
// `--root DIR` checks another tree with the same rules (test/layers/ runs it on fixtures).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const rootFlag = process.argv.indexOf("--root");
const root = rootFlag >= 0 ? resolve(process.argv[rootFlag + 1] ?? ".") : repo;
const config = join(repo, ".dependency-cruiser.cjs");
const baseline = join(root, ".dependency-cruiser-known-violations.json");
const folders = ["host", "sdk", "plugins"].filter((f) => existsSync(join(root, f)));

let failed = false;

const args = ["--config", config, "--output-type", "err", "--no-progress"];
if (existsSync(baseline)) args.push("--ignore-known", baseline);
const cruise = spawnSync(
  process.execPath,
  [
    join(repo, "node_modules", "dependency-cruiser", "bin", "dependency-cruise.mjs"),
    ...args,
    ...folders,
  ],
  { cwd: root, encoding: "utf8" },
);
process.stdout.write(cruise.stdout ?? "");
process.stderr.write(cruise.stderr ?? "");
if (cruise.status !== 0) failed = true;

// Text the import rules cannot see: SQL and the store's raw handles outside host/store/.
const SQL_PATTERNS = [
  [/\bsql`/, "a drizzle sql`` template"],
  // On a database handle (a repository's own `batch()`, e.g. store.events.batch, is fine).
  [
    /\b(client|db|tx|conn|connection)\.(execute|executeMultiple|batch|transaction)\(/,
    "a database call",
  ],
  [
    /\bstore\.(client|db)\b/,
    "the store's raw client or drizzle handle (ask the store for a repository)",
  ],
];
const sqlHits = [];
for (const file of walk(join(root, "host"))) {
  const rel = relative(root, file).split("\\").join("/");
  if (rel.startsWith("host/store/") || !/\.(ts|mts|js|mjs)$/.test(rel)) continue;
  const lines = readFileSync(file, "utf8").split("\n");
  lines.forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, "").trim();
    if (code.startsWith("*") || code.startsWith("/*")) return;
    for (const [pattern, what] of SQL_PATTERNS) {
      if (pattern.test(code)) sqlHits.push(`  error sql-outside-store: ${rel}:${i + 1}: ${what}`);
    }
  });
}
if (sqlHits.length > 0) {
  failed = true;
  process.stdout.write(
    `${sqlHits.join("\n")}\n\nx ${sqlHits.length} use(s) of the database outside host/store/\n`,
  );
} else {
  process.stdout.write("✔ no SQL outside host/store/\n");
}
// Runtime checks by global (Deno.*, or probing globalThis for Deno/Bun) are runtime-specific code
// too, which an import rule cannot see: they belong in host/adapter/ (tests may probe freely).
const RUNTIME_PATTERN = /\bDeno\.[a-zA-Z]|globalThis\W+(Deno|Bun)\b|\{\s*(Deno|Bun)\?:/;
const runtimeHits = [];
for (const file of walk(join(root, "host"))) {
  const rel = relative(root, file).split("\\").join("/");
  if (
    rel.startsWith("host/adapter/") || /\.test\.ts$/.test(rel) || !/\.(ts|mts|js|mjs)$/.test(rel)
  ) {
    continue;
  }
  readFileSync(file, "utf8").split("\n").forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, "").trim();
    if (code.startsWith("*") || code.startsWith("/*")) return;
    if (RUNTIME_PATTERN.test(code)) {
      runtimeHits.push(`  error runtime-specific-in-adapter: ${rel}:${i + 1}: a Deno/Bun global`);
    }
  });
}
if (runtimeHits.length > 0) {
  failed = true;
  process.stdout.write(
    `${runtimeHits.join("\n")}\n\nx ${runtimeHits.length} runtime check(s) outside host/adapter/\n`,
  );
} else {
  process.stdout.write("✔ no runtime checks outside host/adapter/\n");
}
process.exit(failed ? 1 : 0);

function* walk(dir) {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else yield path;
  }
}
