/**
 * plughost SDK for AssemblyScript plugins: JSON, UTF-8 input/output, and
 * typed bindings for the plughost host ABI (docs/abi.md). Build with
 * `--use abort=<path to this folder>/abort/plughostAbort`.
 * @module
 */

export * from "./json";
export * from "./io";
export * from "./result";
export { kv, KvPage } from "./kv";
export { events } from "./events";
export { secrets } from "./secrets";
export { config } from "./config";
export { invoke } from "./invoke";
export { http, HttpRequest, HttpResponse } from "./http";
export { log } from "./log";
export { progress } from "./progress";
export { plughostAbort } from "./abort";
