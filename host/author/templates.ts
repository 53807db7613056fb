/**
 * The files of a new plugin project (`host new`), per language and template.
 * A template (template-capability.ts, template-subscriber.ts,
 * template-route.ts) gives the manifest, the test cases and the source; the
 * files every project has (README, build.json, .gitignore, the SDK, the
 * manifest schema) are made here. Every language's source of a template does
 * the same thing, so one test file serves them all.
 * @module
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Language } from "./project.ts";
import { checkoutRoot } from "./sdk-paths.ts";
import { capabilityTemplate } from "./template-capability.ts";
import { json, type Template, type TemplateValues } from "./template-parts.ts";
import { routeTemplate } from "./template-route.ts";
import { subscriberTemplate } from "./template-subscriber.ts";

export type { TemplateValues } from "./template-parts.ts";

/** The template names `host new --template` knows. */
export const TEMPLATES = ["capability", "subscriber", "route"] as const;
export type TemplateName = (typeof TEMPLATES)[number];

const templates: Record<TemplateName, Template> = {
  capability: capabilityTemplate,
  subscriber: subscriberTemplate,
  route: routeTemplate,
};

/** A plugin id from a project name: 'My Plugin' -> 'my-plugin'. */
export function pluginIdFor(name: string): string {
  const id = name.toLowerCase().replace(/[^a-z0-9_.-]+/g, "-").replace(/^[^a-z0-9]+/, "")
    .replace(/[.-]+$/, "").replace(/\.(?=[^a-z0-9])/g, "-");
  return id === "" ? "plugin" : id.slice(0, 128);
}

/** The files of a `template` project in `lang`, path -> content. */
export async function templateFiles(
  lang: Language,
  template: TemplateName,
  values: TemplateValues,
): Promise<Record<string, string>> {
  const root = checkoutRoot();
  const parts = templates[template];
  const files: Record<string, string> = {
    "plugin.json": parts.manifest(values),
    "manifest.schema.json": await readFile(join(root, "schemas", "manifest.schema.json"), "utf8"),
    "plugin.test.json": parts.tests(values),
    ".gitignore": gitignore,
    "README.md": readme(lang, parts, values),
  };
  if (lang === "as") {
    files["build.json"] = settings({ lang, source: "assembly/index.ts", out: values });
    files["assembly/index.ts"] = parts.source.as(values);
    files["package.json"] = asPackage(values);
  } else if (lang === "c") {
    files["build.json"] = settings({ lang, source: "src/plugin.c", out: values });
    files["src/plugin.c"] = parts.source.c(values);
    files["src/plughost.h"] = await readFile(join(root, "sdk", "c", "plughost.h"), "utf8");
  } else {
    files["build.json"] = settings({ lang, source: "src/lib.rs", out: values });
    files["src/lib.rs"] = parts.source.rust(values);
    files["src/plughost.rs"] = await readFile(join(root, "sdk", "rust", "plughost.rs"), "utf8");
  }
  return files;
}

function settings(
  { lang, source, out }: { lang: Language; source: string; out: TemplateValues },
): string {
  return json({ lang, source, out: `build/${out.id}.wasm`, flags: [], key: "keys/dev" });
}

const gitignore = `build/
.plughost/
node_modules/
# the private half of the signing key; keys/dev.pub is what servers trust
*.key
`;

function readme(lang: Language, parts: Template, values: TemplateValues): string {
  const { id, name } = values;
  const source = lang === "as" ? "assembly/index.ts" : lang === "c" ? "src/plugin.c" : "src/lib.rs";
  const toolchain = lang === "as"
    ? "Nothing to install: `host build` compiles with the AssemblyScript compiler and the plughost SDK (`@plughost/sdk-as`) it ships with; `npm install` adds them to this folder for your editor."
    : lang === "c"
    ? "clang and wasm-ld for wasm32 (Debian: `apt-get install -y clang lld`). `src/plughost.h` is the plughost C SDK (host ABI 1)."
    : "A rustc whose sysroot has the `wasm32-unknown-unknown` target (Debian: `apt-get install -y rustc libstd-rust-dev-wasm32`, or `rustup target add wasm32-unknown-unknown`); no crates. `src/plughost.rs` is the plughost Rust SDK (host ABI 1).";
  return `# ${name}

A plughost plugin (\`${id}\`) with ${parts.summary(values)}

| file | what it is |
| --- | --- |
| \`plugin.json\` | the manifest: capabilities, permissions, limits (\`manifest.schema.json\` lets editors check it) |
| \`${source}\` | the plugin's source |
| \`plugin.test.json\` | test cases \`host test\` runs |
| \`build.json\` | how \`host build\` compiles it (language, source, output, extra flags, signing key) |

Toolchain: ${toolchain}

\`\`\`sh
host build         # compile, embed plugin.json, sign with keys/dev.key (made on first build)
host test          # build, then run plugin.test.json against a throwaway host
host dev --server http://127.0.0.1:8080 --token TOKEN   # rebuild and upload on every change
\`\`\`

The signed plugin is \`build/${id}.wasm\`. A server runs it once it trusts \`keys/dev.pub\`
(\`host serve --trust keys/dev.pub\`, or copy the file into its trust directory). \`keys/dev.key\`
is the private key: it stays out of git (\`.gitignore\`). See docs/plugin-authoring.md in plughost.
`;
}

function asPackage({ id }: TemplateValues): string {
  return json({
    name: id,
    version: "0.1.0",
    private: true,
    description: "A plughost plugin (AssemblyScript); build with `host build`",
    devDependencies: {
      "@extism/as-pdk": "1.0.0",
      assemblyscript: "0.28.20",
    },
  });
}
