/**
 * `host inspect FILE.wasm [--json]`: show what a plugin file holds, with no
 * trust decision: manifest, sections, imports, exports, memory, signatures.
 * @module
 */
import {
  MANIFEST_SECTION,
  moduleDigest,
  moduleInfo,
  parseModule,
  SIGNATURE_SECTION,
  signedDigest,
  toHex,
} from "../artifact/mod.ts";
import { ExitCode, UsageError } from "../errors.ts";
import { parseManifest } from "../manifest/mod.ts";
import { parseSignatureSection } from "../trust/mod.ts";
import { type Command, commonOptions, parseFlags } from "./command.ts";
import { readFileArg } from "./files.ts";

const usage = `Usage: host inspect <file.wasm> [--json]

Shows a plugin file's manifest, sections, imports, exports, memory limits and
signatures, without deciding whether to trust it (use 'host verify' for that).
`;

const sectionNames = [
  "custom",
  "type",
  "import",
  "function",
  "table",
  "memory",
  "global",
  "export",
  "start",
  "element",
  "code",
  "data",
  "datacount",
  "tag",
];

export const command: Command = {
  name: "inspect",
  summary: "Show a plugin file's manifest, sections, imports, exports and signatures",
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, commonOptions, 1);
    const [file] = positionals;
    if (file === undefined) throw new UsageError("Missing <file.wasm>");
    const wasm = await readFileArg(file, io.cwd);
    const module = parseModule(wasm);
    const info = moduleInfo(module);
    const sections = module.sections.map((s) => ({
      id: s.id,
      kind: sectionNames[s.id] ?? "unknown",
      ...(s.name === undefined ? {} : { name: s.name }),
      offset: s.start,
      size: s.end - s.payloadStart,
    }));
    const custom = (name: string) =>
      module.sections.filter((s) => s.name === name).map((s) => wasm.subarray(s.dataStart, s.end));

    const manifestData = custom(MANIFEST_SECTION);
    let manifest: unknown = null;
    let manifestError: string | null = null;
    if (manifestData.length > 1) {
      manifestError = `${manifestData.length} plughost.manifest sections`;
    } else if (manifestData[0] !== undefined) {
      try {
        manifest = parseManifest(manifestData[0]);
      } catch (error) {
        manifestError = error instanceof Error ? error.message : String(error);
      }
    }
    const signatureData = custom(SIGNATURE_SECTION);
    const parsedSignatures = signatureData.map(parseSignatureSection);
    const signatures = parsedSignatures.flatMap((p) => typeof p === "string" ? [] : p)
      .map(({ alg, keyId }) => ({ alg, keyId }));
    const signatureErrors = parsedSignatures.filter((p): p is string => typeof p === "string");
    const report = {
      file,
      size: wasm.length,
      digest: toHex(await signedDigest(wasm)),
      moduleDigest: await moduleDigest(wasm),
      manifest,
      manifestError,
      sections,
      imports: info.imports,
      exports: info.exports,
      memories: info.memories,
      signatures,
      signatureErrors,
    };
    if (values.json) {
      io.stdout(JSON.stringify(report) + "\n");
      return ExitCode.ok;
    }
    const lines = [
      `${file}: ${wasm.length} bytes`,
      `digest         sha256:${report.digest}  (signed message)`,
      `module digest  sha256:${report.moduleDigest}  (without plughost.* sections)`,
      "",
      "manifest:",
      manifestError !== null
        ? `  INVALID: ${manifestError}`
        : manifest === null
        ? "  (none)"
        : JSON.stringify(manifest, null, 2).replace(/^/gm, "  "),
      "",
      "sections:",
      ...sections.map((s) =>
        `  ${String(s.offset).padStart(8)}  ${s.kind.padEnd(9)}${
          s.name === undefined ? "" : ` ${s.name}`
        }  ${s.size} bytes`
      ),
      "",
      `imports (${info.imports.length}):`,
      ...info.imports.map((i) => `  ${i.kind.padEnd(8)}  ${i.module}.${i.name}`),
      "",
      `exports (${info.exports.length}):`,
      ...info.exports.map((e) => `  ${e.kind.padEnd(8)}  ${e.name}`),
      "",
      "memory:",
      ...(info.memories.length === 0
        ? ["  (none)"]
        : info.memories.map((m) =>
          `  min ${m.min} pages, max ${m.max === undefined ? "unbounded" : `${m.max} pages`}` +
          (m.shared ? ", shared" : "") + (m.memory64 ? ", memory64" : "")
        )),
      "",
      "signatures:",
      ...(signatures.length === 0 && signatureErrors.length === 0
        ? ["  (none)"]
        : signatures.map((s) => `  ${s.keyId}  ${s.alg}`)),
      ...signatureErrors.map((e) => `  MALFORMED: ${e}`),
    ];
    io.stdout(lines.join("\n") + "\n");
    return ExitCode.ok;
  },
};
