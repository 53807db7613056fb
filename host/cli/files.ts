/**
 * Reading files named on the command line, with errors that say what to do.
 * @module
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import process from "node:process";
import { HostError } from "../errors.ts";

/** Reads a file argument ('-' is stdin). A missing file is invalid input (exit 65). */
export async function readFileArg(path: string, cwd: string): Promise<Uint8Array> {
  if (path === "-") return await readStdin();
  try {
    return new Uint8Array(await readFile(resolve(cwd, path)));
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why = code === "ENOENT"
      ? "no such file"
      : code === "EISDIR"
      ? "it is a directory"
      : String(code ?? error);
    throw new HostError("invalid_input", `Cannot read '${path}': ${why}`);
  }
}

async function readStdin(): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Uint8Array);
  return new Uint8Array(Buffer.concat(chunks));
}
