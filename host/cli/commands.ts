/**
 * The command table: name -> summary and a lazy loader, one line per command.
 * @module
 */
import type { CommandTable } from "./command.ts";

export const commands: CommandTable = {
  call: {
    summary: "Call an export of a plugin file and print its output",
    load: async () => (await import("./call.ts")).command,
  },
  run: {
    summary: "Call a capability with flags generated from its input schema (--help lists them)",
    load: async () => (await import("./run.ts")).command,
  },
  runs: {
    summary: "List recorded plugin runs, or show one (host runs show RUN_ID)",
    load: async () => (await import("./runs.ts")).command,
  },
  replay: {
    summary: "Re-run a recorded run and check it gives the same output and fuel",
    load: async () => (await import("./replay.ts")).command,
  },
  export: {
    summary: "Write a signed evidence bundle of runs (host verify checks it)",
    load: async () => (await import("./export.ts")).command,
  },
  events: {
    summary: "Print events from the append-only log (--follow to keep watching)",
    load: async () => (await import("./events.ts")).command,
  },
  doctor: {
    summary: "Check the database and trust store and report problems",
    load: async () => (await import("./doctor.ts")).command,
  },
  keygen: {
    summary: "Create an ed25519 signing key pair and print its key id",
    load: async () => (await import("./keygen.ts")).command,
  },
  sign: {
    summary: "Embed a manifest in a plugin file and sign it",
    load: async () => (await import("./sign.ts")).command,
  },
  verify: {
    summary: "Check that plugin files are intact and signed by trusted keys",
    load: async () => (await import("./verify.ts")).command,
  },
  serve: {
    summary: "Serve the HTTP API (capability calls, plugins, runs, events)",
    load: async () => (await import("./serve.ts")).command,
  },
  tokens: {
    summary: "Create, list and revoke HTTP API tokens",
    load: async () => (await import("./tokens.ts")).command,
  },
  secrets: {
    summary: "Set, unset or list plugin secrets in the database (encrypted; values never shown)",
    load: async () => (await import("./secrets.ts")).command,
  },
  schedules: {
    summary: "List, add, pause, resume or remove schedules (host schedules add --cron ...)",
    load: async () => (await import("./schedules.ts")).command,
  },
  install: {
    summary: "Install plugin files, plugins from a registry, or the lockfile's exact set",
    load: async () => (await import("./install.ts")).command,
  },
  update: {
    summary: "Update installed plugins from a registry (changelog, permission diff, consent)",
    load: async () => (await import("./update.ts")).command,
  },
  rollback: {
    summary: "Reinstall the previous version of a plugin (kept by digest)",
    load: async () => (await import("./rollback.ts")).command,
  },
  uninstall: {
    summary: "Uninstall a plugin (refused while others depend on it unless --force)",
    load: async () => (await import("./uninstall.ts")).command,
  },
  publish: {
    summary: "Publish signed plugin files to a registry (host publish FILE --registry URL)",
    load: async () => (await import("./publish.ts")).command,
  },
  search: {
    summary: "Search a registry's plugins (text, capability, host version, verified, channel)",
    load: async () => (await import("./search.ts")).command,
  },
  registry: {
    summary: "Promote or yank a published version (host registry promote ID@VERSION --channel ga)",
    load: async () => (await import("./registry.ts")).command,
  },
  config: {
    summary: "Show or change a plugin's config (get, set KEY=VALUE, unset, history)",
    load: async () => (await import("./config.ts")).command,
  },
  plugins: {
    summary: "List installed plugins; enable, disable or remove one",
    load: async () => (await import("./plugins.ts")).command,
  },
  policy: {
    summary: "Check plugin files against the operator policy (host policy check FILE.wasm)",
    load: async () => (await import("./policy.ts")).command,
  },
  inspect: {
    summary: "Show a plugin file's manifest, sections, imports, exports and signatures",
    load: async () => (await import("./inspect.ts")).command,
  },
  new: {
    summary: "Create a plugin project (AssemblyScript, C or Rust)",
    load: async () => (await import("./new.ts")).command,
  },
  build: {
    summary: "Compile a plugin project, embed its manifest and sign it",
    load: async () => (await import("./build.ts")).command,
  },
  test: {
    summary: "Build a plugin project and run its test cases (fuel, memory per case)",
    load: async () => (await import("./test-plugin.ts")).command,
  },
  dev: {
    summary: "Rebuild, re-sign and upload a plugin project on every change",
    load: async () => (await import("./dev.ts")).command,
  },
  completion: {
    summary: "Print a shell completion script (bash, zsh or fish)",
    // Completion reads the table it is part of, so it is handed the table rather than importing it.
    load: async () => (await import("./completion.ts")).completionCommand(commands),
  },
};
