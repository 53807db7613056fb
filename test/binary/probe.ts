/**
 * A packaging probe, built into its own single executable by the binary tests
 * with the same build as dist/host: it exercises what the executable must carry
 * before any CLI command needs it (Extism's worker mode, the libSQL native
 * addon, binaryen loaded lazily) and prints what it saw as JSON.
 * Usage: probe <conformance dir>
 * @module
 */
import createPlugin from "@extism/extism";
import { createClient } from "@libsql/client";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { WriteConnection } from "../../host/store/write-connection.ts";

const conformance = process.argv[2];
if (conformance === undefined) {
  process.stderr.write("usage: probe <conformance dir>\n");
  process.exit(64);
}

/** Extism's worker: its script is a data: URL inside the SDK, run by node:worker_threads. */
async function workerCall(
  file: string,
  name: string,
  input: string,
  useWasi: boolean,
): Promise<string> {
  const data = await readFile(join(conformance!, file));
  const plugin = await createPlugin({ wasm: [{ data }] }, { useWasi, runInWorker: true });
  try {
    return (await plugin.call(name, input))?.text() ?? "";
  } finally {
    await plugin.close();
  }
}

/** libSQL through its native addon, on a file in the working directory. */
async function libsql(): Promise<unknown> {
  const db = createClient({ url: "file:probe.db" });
  try {
    await db.execute("create table if not exists t (n integer)");
    await db.execute({ sql: "insert into t values (?)", args: [41] });
    const rs = await db.execute("select max(n) + 1 as n from t");
    return rs.rows[0]?.["n"];
  } finally {
    db.close();
  }
}

/** The store writer's large-batch path: libsql's promise API, run on libSQL's own thread. */
async function libsqlOffloaded(): Promise<unknown> {
  const connection = new WriteConnection("probe.db", 1000);
  try {
    await connection.write([
      "create table if not exists u (n integer)",
      { sql: "insert into u values (?)", args: [6] },
    ], true);
  } finally {
    connection.close();
  }
  const db = createClient({ url: "file:probe.db" });
  try {
    return (await db.execute("select max(n) + 1 as n from u")).rows[0]?.["n"];
  } finally {
    db.close();
  }
}

/** binaryen: ESM with top-level await, imported lazily; builds and runs a tiny module. */
async function binaryen(): Promise<unknown> {
  const { default: b } = await import("binaryen");
  const module = new b.Module();
  module.addFunction("answer", b.none, b.i32, [], module.i32.const(42));
  module.addFunctionExport("answer", "answer");
  if (!module.validate()) throw new Error("binaryen built an invalid module");
  const bytes = new Uint8Array(module.emitBinary());
  module.dispose();
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
  return (instance.exports["answer"] as () => number)();
}

const report = {
  worker: await workerCall("code.wasm", "count_vowels", "hello world", false),
  workerWasi: await workerCall("hello_haskell.wasm", "testing", "John", true),
  libsql: await libsql(),
  libsqlOffloaded: await libsqlOffloaded(),
  binaryen: await binaryen(),
};
process.stdout.write(JSON.stringify(report) + "\n", () => process.exit(0));
