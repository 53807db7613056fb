/**
 * The host-call tape of a run (docs/replay.md): every answer the host gave
 * the plugin (KV reads and writes, event publishes, invoke results, HTTP
 * responses), in order, so a replay can serve the same answers without
 * touching state or the network. Bounded: past `TAPE_MAX_BYTES` the tape is
 * cut and the run is marked not replayable. Secret values are never
 * recorded: a `secret_get` leaves an entry that makes the run not replayable.
 * In strict mode the calls with outside effects are refused here, audited.
 * @module
 */
import { Buffer } from "node:buffer";
import { sha256Id } from "../artifact/mod.ts";
import { type HostCall, type HostFunction, MALFORMED_HTTP_REQUEST } from "../sandbox/mod.ts";
import { errorResult } from "./abi.ts";
import { auditDenied } from "./audit.ts";
import { type CapabilityContext, grantsFor } from "./context.ts";
import { HTTP_IN_RULE, httpInDigest, httpRequestDigest, requestBody } from "./tape-http.ts";
import { ReplayDiverged, Tape } from "./tape-record.ts";

/** Host calls with outside effects: refused in strict mode, recorded in best-effort mode. */
export const OUTSIDE_EFFECTS: ReadonlySet<string> = new Set([
  "http_request",
  "invoke",
  "secret_get",
]);

export {
  ReplayDiverged,
  Tape,
  TAPE_MAX_BYTES,
  type TapeEntry,
  tapeUnreplayable,
} from "./tape-record.ts";

/** The tape of a call, if its run has one. */
export function tapeOf(call: HostCall): Tape | undefined {
  return call.tape instanceof Tape ? call.tape : undefined;
}

/** Whether the call's plugin was granted the outside effect `fn` has. */
function granted(ctx: CapabilityContext, call: HostCall, fn: string): boolean {
  const grants = grantsFor(ctx, call);
  if (fn === "invoke") return grants.invoke.size > 0;
  if (fn === "secret_get") return grants.secrets.size > 0;
  return true;
}

function refusal(fn: string): string {
  return `${fn} is refused in strict determinism mode: it has outside effects; declare ` +
    `"determinism": "best-effort" on the capability (or in the operator policy) to allow it`;
}

/**
 * Wraps one host function: refused in strict mode when it has outside
 * effects (audited, `nondeterministic`); answered from the tape in a replay
 * (no effect happens); recorded otherwise. Sync functions stay sync.
 */
export function taped(ctx: CapabilityContext, fn: string, inner: HostFunction): HostFunction {
  return (call, input) => {
    // Not granted at all: the function itself answers permission_denied, as in any mode.
    if (call.determinism === "strict" && OUTSIDE_EFFECTS.has(fn) && granted(ctx, call, fn)) {
      auditDenied(
        ctx,
        { pluginId: call.pluginId, runId: call.runId },
        fn,
        {},
        `nondeterministic: ${refusal(fn)}`,
      );
      return errorResult("nondeterministic", refusal(fn));
    }
    const tape = tapeOf(call);
    if (!tape) return inner(call, input);
    const digest = sha256Id(input);
    if (tape.replaying) {
      try {
        const entry = tape.next(fn, digest);
        return Buffer.from(entry.out ?? "", "base64");
      } catch (error) {
        return errorResult("replay_diverged", (error as Error).message);
      }
    }
    const record = (output: Uint8Array): Uint8Array => {
      tape.add(
        fn === "secret_get"
          ? { fn, in: digest, secret: true }
          : { fn, in: digest, out: Buffer.from(output).toString("base64") },
      );
      return output;
    };
    const output = inner(call, input);
    return output instanceof Promise ? output.then(record) : record(output);
  };
}

/**
 * Wraps the fetch behind Extism's `http_request`: refused in strict mode
 * (audited), answered from the tape in a replay (no network), recorded
 * otherwise. Extism's fetch carries no call, so the answer is tied to the
 * plugin's one active run; with several at once none of their tapes is
 * complete, and they are marked so.
 */
export function tapedFetch(
  ctx: CapabilityContext,
  pluginId: string,
  inner: typeof fetch,
): typeof fetch {
  return async (resource, init) => {
    let request: Request;
    try {
      request = new Request(resource, init);
    } catch {
      throw new Error(MALFORMED_HTTP_REQUEST);
    }
    const active = ctx.runs.runsOf(pluginId);
    const run = active.length === 1 ? active[0] : undefined;
    if (active.some((r) => r.determinism === "strict")) {
      const reason = refusal("http_request");
      auditDenied(
        ctx,
        { pluginId, runId: run?.runId ?? null },
        "http_request",
        { host: new URL(request.url).host },
        `nondeterministic: ${reason}`,
      );
      throw new TypeError(reason);
    }
    const tape = run?.tape;
    // Only a taped run needs the body's bytes (to hash them).
    const body = tape ? await requestBody(request, init) : null;
    if (tape?.replaying) {
      // Checked by the rule the entry was recorded with: older tapes keep replaying.
      const rule = tape.upcoming()?.inRule;
      const digest = await httpInDigest(request, body, rule);
      if (digest === undefined) {
        throw new ReplayDiverged(
          `The tape's http_request entry was recorded with digest rule ${rule}, which this ` +
            "host does not know (a newer host recorded it): replay the run there",
        );
      }
      const entry = tape.next("http_request", digest);
      const recorded = Buffer.from(entry.out ?? "", "base64");
      return new Response(recorded.length === 0 ? null : recorded, {
        status: entry.status ?? 200,
        headers: entry.headers ?? [],
      });
    }
    // Digested before the gate sends it (and may read the body): what the plugin asked.
    const digest = tape ? await httpRequestDigest(request, body) : "";
    const response = await inner(request);
    if (!run) {
      for (const r of active) {
        if (r.tape) {
          r.tape.incomplete = "an HTTP answer could not be tied to one of concurrent runs";
        }
      }
      return response;
    }
    if (!tape) return response;
    let answer: Uint8Array<ArrayBuffer>;
    try {
      answer = new Uint8Array(await response.arrayBuffer());
    } catch (error) {
      // The gate cut the body (size or time cap): hand the plugin the same failing body.
      tape.incomplete = `an HTTP answer could not be recorded: ${
        error instanceof Error ? error.message : String(error)
      }`;
      return new Response(new ReadableStream({ start: (c) => c.error(error) }), {
        status: response.status,
        headers: response.headers,
      });
    }
    tape.add({
      fn: "http_request",
      in: digest,
      inRule: HTTP_IN_RULE,
      out: Buffer.from(answer).toString("base64"),
      status: response.status,
      headers: headerPairs(response.headers),
    });
    return new Response(answer.length === 0 ? null : answer, {
      status: response.status,
      headers: response.headers,
    });
  };
}

function headerPairs(headers: Headers): [string, string][] {
  const pairs: [string, string][] = [];
  headers.forEach((value, key) => pairs.push([key, value]));
  return pairs;
}
