// Writes a copy of binaryen's JavaScript without its embedded WebAssembly, beside the package:
// node_modules/binaryen/plughost-lite.mjs (+ .wasm, + .json). binaryen ships its ~10 MB module as
// one ~14.7 MB escaped template literal inside index.js, and every process (or instrumenter
// thread) that imports it has V8 scan that literal: ~250 ms of a ~400 ms import on this 2-core
// machine, paid by every `host call` of a plugin not yet in the module cache and by every
// instrumenter thread's start. The copy is index.js with that one literal, and the call that turns
// it into bytes, replaced by a read of the same bytes from plughost-lite.wasm: the same code, the
// same module, with one change to the glue's speed (denseTableMirror). The host loads it when it
// matches the installed package (host/sandbox/instrument/binaryen.ts) and the package itself
// otherwise.
//
// Refuses (exit 1, or 0 with --if-stale; nothing written) when index.js does not have the expected shape: exactly one
// literal starting with the WebAssembly magic, passed to a one-argument function that maps char
// codes to a Uint8Array, with no substitutions and no char code above 255; and the bytes must be a
// valid module. A binaryen release that changes this shape then loads as the package, as before.
//
// Usage: node scripts/binaryen-lite.mjs [--if-stale]   (run by `npm install`, postinstall)
import { createHash } from "node:crypto";
import { readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The files the copy is made of, by role, relative to the binaryen package's folder. */
/** What the copy holds; a copy stamped with another (an older checkout's) is made again. */
export const LITE_FORMAT = 2;

export const LITE_FILES = {
  module: "plughost-lite.mjs",
  wasm: "plughost-lite.wasm",
  stamp: "plughost-lite.json",
};

/** The binaryen package folder this checkout resolves. */
export function binaryenDir() {
  return dirname(createRequire(join(root, "package.json")).resolve("binaryen/package.json"));
}

/** What the copy was made from: the package's version and index.js's size and SHA-256. */
function sourceStamp(dir, text) {
  const version = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version;
  const bytes = Buffer.from(text, "utf8");
  return {
    version,
    indexBytes: bytes.length,
    indexSha256: createHash("sha256").update(bytes).digest("hex"),
  };
}

/**
 * Splits index.js's text into the copy's module text (its table mirror made
 * dense where found: {@link denseTableMirror}) and the wasm bytes, or throws
 * saying which expectation failed.
 */
export function splitBinaryen(text) {
  const open = "`\\0asm";
  const first = text.indexOf(open);
  if (first < 0 || text.indexOf(open, first + 1) >= 0) {
    throw new Error("expected exactly one template literal starting with the wasm magic");
  }
  // The literal's end: the next backtick not escaped by an odd run of backslashes.
  let end = first;
  for (;;) {
    end = text.indexOf("`", end + 1);
    if (end < 0) throw new Error("the wasm literal does not end");
    let slashes = 0;
    while (text[end - 1 - slashes] === "\\") slashes++;
    if (slashes % 2 === 0) break;
  }
  const literal = text.slice(first, end + 1);
  if (literal.includes("${")) throw new Error("the wasm literal has substitutions");
  const call = /([A-Za-z_$][\w$]*)\($/.exec(text.slice(Math.max(0, first - 64), first));
  if (call === null || text[end + 1] !== ")") {
    throw new Error("the wasm literal is not the one argument of a call");
  }
  const name = call[1];
  const definition = new RegExp(`function ${name.replace(/\$/g, "\\$")}\\(([\\w$]+)\\)\\{[^}]*\\}`)
    .exec(text)?.[0];
  if (!definition || !definition.includes("new Uint8Array") || !definition.includes("charCodeAt")) {
    throw new Error(
      `${name}, which the wasm literal is passed to, does not map char codes to bytes`,
    );
  }
  // The package's own literal, evaluated as V8 evaluates it when the package loads.
  const chars = (0, eval)(literal);
  const wasm = new Uint8Array(chars.length);
  for (let i = 0; i < chars.length; i++) {
    const code = chars.charCodeAt(i);
    if (code > 255) throw new Error(`the wasm literal has char code ${code} at ${i}`);
    wasm[i] = code;
  }
  if (!WebAssembly.validate(wasm)) {
    throw new Error("the bytes of the wasm literal are no valid module");
  }
  const start = first - name.length - 1;
  const module = 'import { readFileSync as __plughostRead } from "node:fs";\n' +
    "const __plughostWasm = () => {\n" +
    `  const bytes = __plughostRead(new URL(${
      JSON.stringify(`./${LITE_FILES.wasm}`)
    }, import.meta.url));\n` +
    "  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);\n" +
    "};\n" +
    text.slice(0, start) + "__plughostWasm()" + text.slice(end + 2);
  const mirrored = denseTableMirror(module);
  return { module: mirrored.text, wasm, tableMirror: mirrored.patched };
}

/**
 * emscripten's glue calls most of binaryen's C++ through JavaScript `invoke_*` wrappers (its
 * exceptions are JavaScript ones), and each wrapper finds its target in a mirror of the function
 * table: `mirror[index] ||= table.get(index)`. The mirror starts as `[]`, so its first store far
 * past the end turns it into a dictionary and every later lookup hashes: 1.3 s of a 5.8 s profile of
 * 400 reads and writes of a 42 KB plugin. A mirror as long as the table stays a dense array (read
 * 8.3 -> 6.0 ms, write 3.3 -> 2.5 ms, a whole instrumentation 22 -> 17 ms). Looked up by shape; where
 * the shape is not found the copy is made without it (correct, only slower) and `patched` is false.
 */
export function denseTableMirror(text) {
  const shape =
    /([\w$]+)=\[\],([\w$]+)=([\w$]+)=>\{var ([\w$]+)=\1\[\3\];return \4\|\|\(\1\[\3\]=\4=([\w$]+)\.get\(\3\)\),\4\}/g;
  const found = [...text.matchAll(shape)];
  if (found.length !== 1) return { text, patched: false };
  const [whole, mirror, get, index, , table] = found[0];
  const grown = "__plughostMirror";
  const replacement = `${mirror}=[],${get}=${index}=>{var ${grown}=${mirror}[${index}];` +
    `if(${grown})return ${grown};` +
    `if(${index}>=${mirror}.length){${grown}=new Array(Math.max(${table}.length,${index}+1))` +
    `.fill(null);for(var __plughostAt=0;__plughostAt<${mirror}.length;__plughostAt++)` +
    `${grown}[__plughostAt]=${mirror}[__plughostAt];${mirror}=${grown}}` +
    `return ${mirror}[${index}]=${table}.get(${index})}`;
  const at = found[0].index;
  return { text: text.slice(0, at) + replacement + text.slice(at + whole.length), patched: true };
}

/** Written whole or not at all, also with two installs at once (each its own temp file). */
function writeAtomic(path, data) {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, data);
  renameSync(temp, path);
}

/** Writes the copy into `dir` (the binaryen package); returns its stamp. */
export function writeBinaryenLite(dir = binaryenDir()) {
  const text = readFileSync(join(dir, "index.js"), "utf8");
  const stamp = sourceStamp(dir, text);
  const { module, wasm, tableMirror } = splitBinaryen(text);
  const moduleBytes = Buffer.from(module, "utf8");
  writeAtomic(join(dir, LITE_FILES.wasm), wasm);
  writeAtomic(join(dir, LITE_FILES.module), moduleBytes);
  // Last, with the other two's sizes: a copy cut short or damaged later does not match it.
  const full = {
    ...stamp,
    format: LITE_FORMAT,
    tableMirror,
    wasmBytes: wasm.length,
    moduleBytes: moduleBytes.length,
  };
  writeAtomic(join(dir, LITE_FILES.stamp), JSON.stringify(full) + "\n");
  return full;
}

/**
 * True when the copy in `dir` was made from the package there now and is whole
 * (versions and sizes: cheap; the host's loader checks the same).
 */
export function liteIsCurrent(dir = binaryenDir()) {
  try {
    const stamp = JSON.parse(readFileSync(join(dir, LITE_FILES.stamp), "utf8"));
    const version = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version;
    const size = (name) => statSync(join(dir, name)).size;
    return stamp.format === LITE_FORMAT && stamp.version === version &&
      stamp.indexBytes === size("index.js") &&
      stamp.wasmBytes === size(LITE_FILES.wasm) && stamp.moduleBytes === size(LITE_FILES.module);
  } catch {
    return false;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  try {
    const dir = binaryenDir();
    if (process.argv.includes("--if-stale") && liteIsCurrent(dir)) process.exit(0);
    const stamp = writeBinaryenLite(dir);
    process.stdout.write(
      `binaryen-lite: wrote ${LITE_FILES.module} for binaryen ${stamp.version}` +
        (stamp.tableMirror ? "\n" : " (its table mirror not found: left as it was, slower)\n"),
    );
  } catch (error) {
    process.stderr.write(
      `binaryen-lite: not written (${error.message}); the host loads binaryen's index.js instead\n`,
    );
    // As npm's postinstall (--if-stale) a failed split is no failed install: the host still runs.
    process.exit(process.argv.includes("--if-stale") ? 0 : 1);
  }
}
