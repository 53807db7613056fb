/**
 * `host test`: a project's JSON test cases (plugin.test.json), run in order
 * against a throwaway host (temporary data directory: KV and events work and
 * carry over from case to case), with fuel and memory per case.
 * @module
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { capabilityProvider, type TransportRequest } from "../capabilities/mod.ts";
import { HostError } from "../errors.ts";
import { createHost, type Host } from "../host.ts";
import { formatIssues } from "../manifest/mod.ts";
import type { PluginInfo } from "../core/mod.ts";
import { hookNames } from "../lifecycle/mod.ts";
import { capabilityValidator } from "../core/validate.ts";
import { readSigningKey, trustKey } from "../trust/mod.ts";
import type { Project } from "./project.ts";
import { TESTS_FILE } from "./project.ts";

/**
 * One canned HTTP answer: a request of the plugin to `url` (exact, query included) with `method`
 * (default GET) is answered with `status`, `headers` and `body` (a string as is, anything else as
 * JSON), without the network. A request no fixture matches fails as `network_error`.
 */
const HttpFixture = z.strictObject({
  url: z.string().url(),
  method: z.string().min(1).default("GET"),
  status: z.number().int().min(100).max(599).default(200),
  headers: z.record(z.string(), z.string()).default({}),
  body: z.unknown().default(""),
});
type HttpFixture = z.infer<typeof HttpFixture>;

const EventExpectation = z.strictObject({
  topic: z.string().min(1),
  payload: z.unknown().optional(),
});

export const TestCaseSchema = z.strictObject({
  name: z.string().min(1),
  /** The capability to call; or `hook`. */
  capability: z.string().min(1).optional(),
  /**
   * A manifest hook to run instead (e.g. `onEvent` with an event as `input`): its export is
   * called as the host calls it, with no schema. Its output is checked only when `output` says.
   */
  hook: z.enum(hookNames).optional(),
  /** The input JSON value (default `{}`). */
  input: z.unknown().default({}),
  /** Expected output JSON (omit to accept any successful output). */
  output: z.unknown().optional(),
  /** `exact` (default): output equals `output`; `partial`: every field given matches. */
  match: z.enum(["exact", "partial"]).default("exact"),
  /** Expected error class (e.g. `schema_mismatch`, `plugin_error`, `permission_denied`). */
  error: z.string().min(1).optional(),
  /** Events the call must publish, in this order (others may come between). */
  events: z.array(EventExpectation).optional(),
  /** Secret values the call sees through secret_get (never printed). */
  secrets: z.record(z.string(), z.string()).optional(),
  /** HTTP answers the call gets instead of the network (the manifest's allowedHosts still apply). */
  http: z.array(HttpFixture).optional(),
  /** The config operators would store for the plugin in this case, over its `config.default` (what config_get answers). */
  config: z.record(z.string(), z.unknown()).optional(),
}).refine((c) => !(c.output !== undefined && c.error !== undefined), {
  message: "give either output or error, not both",
}).refine((c) => (c.capability === undefined) !== (c.hook === undefined), {
  message: 'give either "capability" or "hook" (e.g. "onEvent"), one of them',
});
export type TestCase = z.infer<typeof TestCaseSchema>;

export const TestFileSchema = z.strictObject({
  $schema: z.string().optional(),
  cases: z.array(TestCaseSchema).min(1),
});

/** How one case went. */
export interface CaseResult {
  name: string;
  ok: boolean;
  /** Why it failed, with a diff where one helps. */
  failure?: string;
  fuel: number;
  memoryPages: number;
  durationMs: number;
  runId?: string;
}

/** Reads the project's test file. Throws HostError `invalid_input` naming the bad field. */
export async function readCases(project: Project): Promise<TestCase[]> {
  const file = join(project.dir, TESTS_FILE);
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, "utf8"));
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new HostError(
      "invalid_input",
      code === "ENOENT"
        ? `${file} is missing: add test cases ({"cases":[{"name","capability","input","output"}]})`
        : `${file} is not JSON: ${error instanceof Error ? error.message : error}`,
    );
  }
  const parsed = TestFileSchema.safeParse(value);
  if (!parsed.success) {
    throw new HostError(
      "invalid_input",
      `${file}: ${formatIssues(parsed.error.issues).join("; ")}`,
    );
  }
  return parsed.data.cases;
}

/**
 * Runs the cases against the built plugin (`project.out`) in a throwaway host
 * that trusts the project's key. Calls `onResult` as each case ends.
 */
export async function runCases(
  project: Project,
  cases: TestCase[],
  onResult: (result: CaseResult) => void = () => {},
): Promise<CaseResult[]> {
  const home = await mkdtemp(join(tmpdir(), "plughost-test-"));
  // Secrets and HTTP fixtures of the case being run: each case sees only its own.
  let secrets: Record<string, string> = {};
  let fixtures: HttpFixture[] = [];
  try {
    const key = await readSigningKey(`${project.keyBase}.key`);
    await trustKey(join(home, "trust"), key.publicKey, { label: "project dev key" });
    const host = await createHost({
      home,
      installed: false,
      cache: false,
      hostFunctions: capabilityProvider({
        secrets: { get: (name: string) => secrets[name] },
        // Each case brings its own values: no answer of one case may be reused by the next.
        secretsCacheMs: 0,
        httpTransport: (request) => Promise.resolve(answer(fixtures, request)),
      }),
      // The author's shell must not change what the cases see: no PLUGHOST_CONFIG__ variables.
      config: { env: undefined, variables: {} },
    });
    try {
      const info = await host.runtime.load(
        new Uint8Array(await readFile(project.out)),
        project.out,
      );
      const results: CaseResult[] = [];
      let configured = false;
      for (const testCase of cases) {
        secrets = testCase.secrets ?? {};
        fixtures = testCase.http ?? [];
        // A case's config is stored as the plugin's (validated like `host config set`); a case
        // without one after a case with one sees the default again.
        const failure = testCase.config !== undefined || configured
          ? await storeConfig(host, info, testCase.config ?? {})
          : undefined;
        configured = testCase.config !== undefined;
        const result = failure === undefined ? await runCase(host, info.id, testCase) : {
          name: testCase.name,
          ok: false,
          failure,
          fuel: 0,
          memoryPages: 0,
          durationMs: 0,
        };
        results.push(result);
        onResult(result);
      }
      return results;
    } finally {
      await host.close();
    }
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** Stores a case's config as the plugin's base; the reason when it is refused (off the schema). */
async function storeConfig(
  host: Host,
  info: PluginInfo,
  config: Record<string, unknown>,
): Promise<string | undefined> {
  try {
    await host.runtime.configs.change(info.manifest, { by: "host test", edit: () => config });
    return undefined;
  } catch (error) {
    return `the case's "config" was refused: ${error instanceof Error ? error.message : error}`;
  }
}

/** The fixture's answer to `request`, or a network failure naming what had no fixture. */
function answer(fixtures: HttpFixture[], request: TransportRequest): Response {
  const found = fixtures.find((f) =>
    f.method.toUpperCase() === request.method && new URL(f.url).href === request.url.href
  );
  if (!found) {
    throw new Error(
      `no HTTP fixture for ${request.method} ${request.url.href} in this case's "http" list`,
    );
  }
  const body = typeof found.body === "string" ? found.body : JSON.stringify(found.body);
  const headers = new Headers(found.headers);
  if (typeof found.body !== "string" && !headers.has("content-type")) {
    headers.set("content-type", "application/json");
  }
  return new Response([101, 103, 204, 205, 304].includes(found.status) ? null : body, {
    status: found.status,
    headers,
  });
}

async function runCase(host: Host, pluginId: string, testCase: TestCase): Promise<CaseResult> {
  const base = { name: testCase.name, fuel: 0, memoryPages: 0, durationMs: 0 };
  const manifest = host.get(pluginId)!.manifest;
  let result;
  try {
    // A hook runs as the host runs it (onEvent: trigger `event`), recorded as `hook:<name>`.
    const hook = testCase.hook;
    result = await host.invoke({
      pluginId,
      capability: testCase.capability ?? `hook:${hook}`,
      ...(hook === undefined ? {} : { hook }),
      input: new TextEncoder().encode(JSON.stringify(testCase.input)),
      trigger: hook === undefined ? "cli" : hook === "onEvent" ? "event" : "hook",
      durable: true,
    });
  } catch (error) {
    // Refused before it ran (the input does not match the capability's schema, say): the
    // class is what the HTTP API answers for the same request.
    if (!(error instanceof HostError) || error.code === "not_found") {
      return {
        ...base,
        ok: false,
        failure: error instanceof Error ? error.message : String(error),
      };
    }
    return judge(testCase, base, { class: error.code, message: error.message }, undefined, []);
  }
  const usage = {
    fuel: result.usage.fuel,
    memoryPages: result.usage.memoryPages,
    durationMs: result.usage.durationMs,
    runId: result.runId,
  };
  // A plugin's publishes are logged as `plugin.<id>.<topic>`; a case names the topic it published.
  const events = (await host.events.query({ runId: result.runId, limit: 1000 })).events
    .map((e) => ({
      topic: e.source === `plugin:${pluginId}` && e.type.startsWith(`plugin.${pluginId}.`)
        ? e.type.slice(`plugin.${pluginId}.`.length)
        : e.type,
      payload: e.payload,
    }));
  if (!result.ok) return judge(testCase, { ...base, ...usage }, result.error, undefined, events);

  const text = new TextDecoder().decode(result.output);
  // A hook has no output schema and usually no output: only a case that expects some reads it.
  if (testCase.hook !== undefined && testCase.output === undefined) {
    return judge(testCase, { ...base, ...usage }, undefined, { value: undefined }, events);
  }
  let output: unknown;
  try {
    output = JSON.parse(text);
  } catch {
    return {
      ...base,
      ...usage,
      ok: false,
      failure: `output is not JSON: ${JSON.stringify(text.slice(0, 200))}`,
    };
  }
  const outputIssues = testCase.capability === undefined
    ? []
    : capabilityValidator(manifest, testCase.capability, "output")(output);
  if (outputIssues.length > 0) {
    return {
      ...base,
      ...usage,
      ok: false,
      failure: `output does not match the capability's output schema in plugin.json: ${
        outputIssues.map((i) => `${i.path || "(root)"} ${i.message}`).join("; ")
      }\n${JSON.stringify(output)}`,
    };
  }
  return judge(testCase, { ...base, ...usage }, undefined, { value: output }, events);
}

function judge(
  testCase: TestCase,
  base: Omit<CaseResult, "ok">,
  error: { class: string; message: string } | undefined,
  output: { value: unknown } | undefined,
  events: { topic: string; payload: unknown }[],
): CaseResult {
  const fail = (failure: string): CaseResult => ({ ...base, ok: false, failure });
  if (testCase.error !== undefined) {
    if (error === undefined) {
      return fail(
        `expected error ${testCase.error}, but the call succeeded with ${
          JSON.stringify(output?.value)
        }`,
      );
    }
    if (error.class !== testCase.error) {
      return fail(`expected error ${testCase.error}, got ${error.class}: ${error.message}`);
    }
  } else if (error !== undefined) {
    return fail(`the call failed: ${error.class}: ${error.message}`);
  } else if (testCase.output !== undefined) {
    const partial = testCase.match === "partial";
    if (!matches(testCase.output, output?.value, partial)) {
      return fail(
        `output does not match (${partial ? "partial" : "exact"}; - expected, + actual):\n` +
          diffLines(
            pretty(testCase.output),
            pretty(partial ? shapedLike(testCase.output, output?.value) : output?.value),
          ),
      );
    }
  }
  const missing = missingEvents(testCase.events ?? [], events, testCase.match === "partial");
  if (missing !== undefined) {
    return fail(
      `expected event ${
        JSON.stringify(missing)
      } was not published (in order); the run's events:\n` +
        (events.map((e) => `  ${JSON.stringify(e)}`).join("\n") || "  (none)"),
    );
  }
  return { ...base, ok: true };
}

/** The first expected event not found, in order, among the run's events. */
function missingEvents(
  expected: { topic: string; payload?: unknown }[],
  actual: { topic: string; payload: unknown }[],
  partial: boolean,
): { topic: string; payload?: unknown } | undefined {
  let at = 0;
  for (const want of expected) {
    while (
      at < actual.length &&
      !(actual[at]!.topic === want.topic &&
        (want.payload === undefined || matches(want.payload, actual[at]!.payload, partial)))
    ) at++;
    if (at === actual.length) return want;
    at++;
  }
  return undefined;
}

/** Deep equality; with `partial`, objects in `expected` may leave fields out. */
export function matches(expected: unknown, actual: unknown, partial: boolean): boolean {
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length &&
      expected.every((e, i) => matches(e, actual[i], partial));
  }
  if (typeof expected === "object" && expected !== null) {
    if (typeof actual !== "object" || actual === null || Array.isArray(actual)) return false;
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    if (!partial && Object.keys(a).length !== Object.keys(e).length) return false;
    return Object.keys(e).every((k) => Object.hasOwn(a, k) && matches(e[k], a[k], partial));
  }
  return Object.is(expected, actual);
}

/** `actual` with only the object fields `expected` names, so a partial diff shows what matters. */
function shapedLike(expected: unknown, actual: unknown): unknown {
  if (Array.isArray(expected) && Array.isArray(actual)) {
    return actual.map((a, i) => i < expected.length ? shapedLike(expected[i], a) : a);
  }
  if (
    typeof expected === "object" && expected !== null && !Array.isArray(expected) &&
    typeof actual === "object" && actual !== null && !Array.isArray(actual)
  ) {
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(e).filter((k) => Object.hasOwn(a, k)).map((k) => [k, shapedLike(e[k], a[k])]),
    );
  }
  return actual;
}

function pretty(value: unknown): string {
  return value === undefined ? "(nothing)" : JSON.stringify(value, null, 2);
}

/** A line diff (longest common subsequence): ` ` same, `-` only expected, `+` only actual. */
export function diffLines(expected: string, actual: string): string {
  const a = expected.split("\n");
  const b = actual.split("\n");
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j]
        ? lcs[i + 1]![j + 1]! + 1
        : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push(`  ${a[i++]}`);
      j++;
    } else if (i < a.length && (j === b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      out.push(`- ${a[i++]}`);
    } else {
      out.push(`+ ${b[j++]}`);
    }
  }
  return out.join("\n");
}
